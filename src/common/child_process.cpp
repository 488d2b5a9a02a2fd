#include "recap/common/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace recap {
namespace {

int remaining_ms(std::chrono::steady_clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

std::chrono::steady_clock::time_point after(double seconds) {
  return std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
}

}  // namespace

ChildProcess::ChildProcess(const std::vector<std::string>& argv) {
  int in_pipe[2], out_pipe[2];
  if (::pipe2(in_pipe, O_CLOEXEC) != 0 || ::pipe2(out_pipe, O_CLOEXEC) != 0)
    throw std::runtime_error(std::string("cannot create pipes: ") + std::strerror(errno));
  char path[] = "/tmp/recap-child-stderr-XXXXXX";
  const int err_fd = ::mkstemp(path);
  stderr_path_ = path;
  ::signal(SIGPIPE, SIG_IGN);  // a dead child must give an error, not kill us
  pid_ = ::fork();
  if (pid_ == 0) {
    ::dup2(in_pipe[0], 0);
    ::dup2(out_pipe[1], 1);
    if (err_fd >= 0) ::dup2(err_fd, 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  ::close(in_pipe[0]);
  ::close(out_pipe[1]);
  if (err_fd >= 0) ::close(err_fd);
  if (pid_ < 0) throw std::runtime_error(std::string("cannot fork: ") + std::strerror(errno));
  to_child_ = in_pipe[1];
  from_child_ = out_pipe[0];
}

ChildProcess::~ChildProcess() {
  if (to_child_ >= 0) ::close(to_child_);
  if (from_child_ >= 0) ::close(from_child_);
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  ::unlink(stderr_path_.c_str());
}

void ChildProcess::write_line(const std::string& line, double timeout_seconds) {
  const std::string data = line + "\n";
  const auto deadline = after(timeout_seconds);
  std::size_t done = 0;
  while (done < data.size()) {
    pollfd p{to_child_, POLLOUT, 0};
    if (::poll(&p, 1, remaining_ms(deadline)) <= 0) throw ChildTimeout("timed out writing to the scorer");
    const ssize_t n = ::write(to_child_, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      throw std::runtime_error("the scorer stopped reading (" + stderr_tail() + ")");
    }
    done += static_cast<std::size_t>(n);
  }
}

std::string ChildProcess::read_line(double timeout_seconds) {
  const auto deadline = after(timeout_seconds);
  while (true) {
    const auto newline = buffer_.find('\n');
    if (newline != std::string::npos) {
      std::string line = buffer_.substr(0, newline);
      buffer_.erase(0, newline + 1);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      return line;
    }
    pollfd p{from_child_, POLLIN, 0};
    const int ready = ::poll(&p, 1, remaining_ms(deadline));
    if (ready == 0) throw ChildTimeout("timed out waiting for the scorer");
    if (ready < 0 && errno == EINTR) continue;
    char chunk[65536];
    const ssize_t n = ::read(from_child_, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw std::runtime_error("the scorer exited early (" + stderr_tail() + ")");
    buffer_.append(chunk, static_cast<std::size_t>(n));
  }
}

int ChildProcess::finish(double timeout_seconds) {
  ::close(to_child_);
  to_child_ = -1;
  const auto deadline = after(timeout_seconds);
  int status = 0;
  while (::waitpid(pid_, &status, WNOHANG) == 0) {
    if (remaining_ms(deadline) == 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      pid_ = -1;
      throw ChildTimeout("the scorer did not exit");
    }
    ::usleep(10000);
  }
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string ChildProcess::stderr_text() const {
  std::ifstream in(stderr_path_);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string ChildProcess::stderr_tail() const {
  std::string text = stderr_text();
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  const auto cut = text.rfind('\n');
  text = cut == std::string::npos ? text : text.substr(cut + 1);
  return text.empty() ? "no message" : text.substr(0, 300);
}

}  // namespace recap
