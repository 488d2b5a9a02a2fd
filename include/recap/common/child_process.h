#pragma once
// A child process spoken to line by line over pipes, with a time limit on every
// exchange, for the Java scorers (METEOR, SPICE) that pycocoevalcap drives the same way.
// pycocoevalcap's bridge can block forever when the child stalls or dies; here every
// read and write gives up after its timeout, and the child is killed on destruction.
#include <stdexcept>
#include <string>
#include <vector>

namespace recap {

class ChildTimeout : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class ChildProcess {
 public:
  // Starts argv[0] (looked up on PATH). Throws std::runtime_error when it cannot start.
  explicit ChildProcess(const std::vector<std::string>& argv);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  void write_line(const std::string& line, double timeout_seconds);
  // Throws ChildTimeout after `timeout_seconds`, std::runtime_error when the child closed
  // its output (its stderr tail is in the message).
  std::string read_line(double timeout_seconds);
  // Closes the child's input and waits for it; returns its exit status.
  int finish(double timeout_seconds);
  std::string stderr_tail() const;
  // Everything the child wrote to stderr so far (it goes to a file, so a chatty child
  // never blocks on a full pipe); callers relay its progress or read its notes.
  std::string stderr_text() const;

 private:
  int pid_ = -1;
  int to_child_ = -1, from_child_ = -1;
  std::string stderr_path_;
  std::string buffer_;
};

}  // namespace recap
