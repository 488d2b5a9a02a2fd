#include "recap/common/team_parallel.h"

#include <omp.h>

#include <algorithm>
#include <exception>
#include <vector>

#include "recap/common/parallel.h"

namespace recap {

void team_ranges(std::int64_t rows, int threads, const std::function<void(std::int64_t, std::int64_t)>& fn) {
  if (rows <= 0) return;
  const int ranges = std::max(1, static_cast<int>(std::min<std::int64_t>(resolve_threads(threads), rows)));
  if (ranges == 1 || omp_in_parallel()) {
    fn(0, rows);
    return;
  }
  const std::int64_t per = (rows + ranges - 1) / ranges;
  std::vector<std::exception_ptr> errors(static_cast<std::size_t>(ranges));
#pragma omp parallel num_threads(ranges)
  {
    // The runtime may give fewer threads than asked for: each takes every team-size-th range.
    for (int r = omp_get_thread_num(); r < ranges; r += omp_get_num_threads()) {
      const std::int64_t begin = r * per, end = std::min(rows, begin + per);
      if (begin >= end) continue;
      try {
        fn(begin, end);
      } catch (...) {
        errors[static_cast<std::size_t>(r)] = std::current_exception();
      }
    }
  }
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

}  // namespace recap
