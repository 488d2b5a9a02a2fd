#pragma once
// Notes and warnings for the person running a tool. Library code reports through these,
// so that every line reads "<program>: <message>" on stderr whichever layer wrote it; a
// tool names itself once at start-up.
#include <string>

namespace recap {

void set_program_name(std::string name);
const std::string& program_name();

// A progress or status line on stderr.
void note(const std::string& message);
// A gap in the user's data that the caller can work around: a "warning: ..." note, or
// with `strict` an InputError (exit status 3).
void warn_or_fail(bool strict, const std::string& message);

}  // namespace recap
