#pragma once
// Shared by the libFuzzer targets of tests/fuzz: the exception policy and scratch files.
//
// Exception policy: a parser may refuse its input only with the exceptions it documents
// (recap::InputError / recap::UsageError, plus std::invalid_argument where a header says
// so). FUZZ_GUARD runs a body, swallows those, and turns anything else into an abort that
// names the exception's type, so that libFuzzer saves the input as a crash.
#include <cxxabi.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <string>
#include <string_view>
#include <typeinfo>

#include "recap/common/error.h"
#include "recap/text/clip_text.h"

namespace recap::fuzz {

[[noreturn]] inline void fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "\n==recap-fuzz== %s: %s\n", what, detail.c_str());
  std::fflush(stderr);
  std::abort();
}

// A property the harness checks on a parser's result (not a sanitizer report).
#define FUZZ_CHECK(condition, message)                                                          \
  do {                                                                                          \
    if (!(condition))                                                                           \
      ::recap::fuzz::fail("property violated", std::string(#condition) + " (" + (message) + ")" \
                                                   " at " __FILE__ ":" + std::to_string(__LINE__)); \
  } while (0)

[[noreturn]] inline void undocumented(const std::exception& e) {
  int status = 0;
  char* type = abi::__cxa_demangle(typeid(e).name(), nullptr, nullptr, &status);
  fail("undocumented exception", std::string(status == 0 && type ? type : typeid(e).name()) + ": " + e.what());
}

// The documented refusals of every recap parser.
template <typename Body>
void guard(Body&& body) {
  try {
    body();
  } catch (const recap::InputError&) {
  } catch (const recap::UsageError&) {
  } catch (const std::exception& e) {
    undocumented(e);
  }
}

// Like guard(), also accepting std::invalid_argument (documented by e.g. ptb_tokenizer.h).
template <typename Body>
void guard_invalid_argument(Body&& body) {
  guard([&] {
    try {
      body();
    } catch (const std::invalid_argument&) {
    }
  });
}

// A per-process scratch folder (removed at exit) for parsers that take paths.
inline const std::filesystem::path& scratch_dir() {
  // Never destroyed, so that the exit handler can still use it.
  static const std::filesystem::path* const dir = [] {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/recap-fuzz.XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) fail("setup", "mkdtemp failed for " + pattern);
    auto* path = new std::filesystem::path(pattern);
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(scratch_dir(), ec);
    });
    return path;
  }();
  return *dir;
}

// Replaces the contents of `path` with `bytes` (created on first use, truncated each run).
inline void write_file(const std::filesystem::path& path, std::string_view bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) fail("setup", "cannot write " + path.string());
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n <= 0) fail("setup", "short write to " + path.string());
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
}

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Whether a text parser's output is UTF-8 (its inputs were checked to be).
inline bool valid_utf8(std::string_view s) {
  try {
    text::check_utf8(s, "output");
    return true;
  } catch (const InputError&) {
    return false;
  }
}

}  // namespace recap::fuzz
