#include "recap/common/messages.h"

#include <cstdio>

#include "recap/common/error.h"

namespace recap {
namespace {
std::string& name_storage() {
  static std::string name = "recap";
  return name;
}
}  // namespace

void set_program_name(std::string name) { name_storage() = std::move(name); }
const std::string& program_name() { return name_storage(); }

void note(const std::string& message) { std::fprintf(stderr, "%s: %s\n", program_name().c_str(), message.c_str()); }

void warn_or_fail(bool strict, const std::string& message) {
  if (strict) throw InputError(message + " (--strict)");
  note("warning: " + message);
}

}  // namespace recap
