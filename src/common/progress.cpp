#include "recap/common/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "recap/common/messages.h"

namespace recap {

Progress::Progress(std::string label, std::int64_t total, std::string unit)
    : label_(std::move(label)), unit_(std::move(unit)), total_(total), tty_(::isatty(STDERR_FILENO) != 0) {}

void Progress::update(std::int64_t done) {
  if (first_done_ < 0) first_done_ = done;
  const double now = clock_.seconds();
  const double interval = tty_ ? 0.2 : 5.0;
  if (now < 1.0 || now - last_print_ < interval) return;  // quick jobs stay quiet
  last_print_ = now;
  print(done, false);
}

void Progress::finish() {
  if (printed_) print(total_, true);
}

void Progress::print(std::int64_t done, bool final_line) {
  printed_ = true;
  const double elapsed = clock_.seconds();
  // The rate of this run's own work; three significant digits, so that a slow stage (the
  // language model captions ~0.1 images/s on 2 cores) does not read "0 images/s".
  const double rate = elapsed > 0 ? (done - std::max<std::int64_t>(first_done_, 0)) / elapsed : 0;
  const double fraction = total_ > 0 ? static_cast<double>(done) / total_ : 1.0;
  const double eta = rate > 0 ? (total_ - done) / rate : 0;
  char rate_text[32];
  std::snprintf(rate_text, sizeof rate_text, rate >= 100 ? "%.0f" : "%.3g", rate);
  char tail[160];
  std::snprintf(tail, sizeof tail, "%lld/%lld %s (%3.0f%%), %s %s/s, %.1f s elapsed%s", static_cast<long long>(done),
                static_cast<long long>(total_), unit_.c_str(), 100 * fraction, rate_text, unit_.c_str(), elapsed,
                final_line ? "" : (", ETA " + std::to_string(static_cast<long long>(eta + 0.5)) + " s").c_str());
  if (tty_) {
    const int width = 24;
    const int filled = static_cast<int>(fraction * width);
    std::string bar(static_cast<std::size_t>(filled), '#');
    bar.append(static_cast<std::size_t>(width - filled), '.');
    std::fprintf(stderr, "\r%s: %s [%s] %s\033[K%s", program_name().c_str(), label_.c_str(), bar.c_str(), tail,
                 final_line ? "\n" : "");
  } else {
    std::fprintf(stderr, "%s: %s %s\n", program_name().c_str(), label_.c_str(), tail);
  }
  std::fflush(stderr);
}

}  // namespace recap
