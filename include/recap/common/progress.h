#pragma once
// Progress of long work on stderr: a redrawn bar on a terminal, a line every few seconds
// otherwise (logs, CI), each with rate and ETA.
#include <cstdint>
#include <string>

#include "recap/common/stopwatch.h"

namespace recap {

class Progress {
 public:
  Progress(std::string label, std::int64_t total, std::string unit);
  void update(std::int64_t done);
  void finish();

 private:
  void print(std::int64_t done, bool final_line);
  std::string label_, unit_;
  std::int64_t total_;
  bool tty_;
  Stopwatch clock_;
  double last_print_ = -1;
  bool printed_ = false;
  std::int64_t first_done_ = -1;  // done at the first update: work resumed, not done now
};

}  // namespace recap
