#pragma once
// Errors that carry the process exit status of the README's "Errors and exit status",
// so that a failure deep in the library reaches main() already classified.
#include <stdexcept>
#include <string>

namespace recap {

enum class ExitCode : int {
  ok = 0,
  internal = 1,   // a bug or an environment failure we did not anticipate
  usage = 2,      // bad flags or configuration
  bad_input = 3,  // the user's data is malformed or inconsistent
};

class Error : public std::runtime_error {
 public:
  Error(ExitCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ExitCode code() const { return code_; }

 private:
  ExitCode code_;
};

// The user's data is wrong: message should name the file and the problem.
class InputError : public Error {
 public:
  explicit InputError(const std::string& message) : Error(ExitCode::bad_input, message) {}
};

// The user's flags or configuration are wrong.
class UsageError : public Error {
 public:
  explicit UsageError(const std::string& message) : Error(ExitCode::usage, message) {}
};

}  // namespace recap
