#pragma once
// Seconds spent per named phase of a job, in the order the phases first occur, for
// --verbose reports ("embed images 0.4 s, search 0.3 s, generate 8.1 s, ...").
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

namespace recap {

class PhaseTimes {
 public:
  void add(const std::string& phase, double seconds) {
    for (auto& [name, total] : phases_)
      if (name == phase) {
        total += seconds;
        return;
      }
    phases_.emplace_back(phase, seconds);
  }
  bool empty() const { return phases_.empty(); }
  std::string describe() const {
    std::string text;
    for (const auto& [name, seconds] : phases_) {
      char value[32];
      std::snprintf(value, sizeof value, " %.2f s", seconds);
      text += (text.empty() ? "" : ", ") + name + value;
    }
    return text;
  }

 private:
  std::vector<std::pair<std::string, double>> phases_;
};

}  // namespace recap
