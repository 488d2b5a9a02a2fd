#pragma once
// Splits [0, rows) into contiguous ranges run on up to `threads` std::threads (0: all
// cores). For coarse, evenly sized work between BLAS calls; not a task scheduler.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>
#include <thread>
#include <vector>

namespace recap {

inline int resolve_threads(int threads) {
  return threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

// The first exception thrown by any range is rethrown on the calling thread once all
// ranges have finished.
template <typename Fn>
void parallel_ranges(std::int64_t rows, int threads, Fn&& fn) {
  threads = std::max(1, static_cast<int>(std::min<std::int64_t>(resolve_threads(threads), rows)));
  if (threads <= 1) {
    if (rows > 0) fn(std::int64_t{0}, rows);
    return;
  }
  std::vector<std::thread> workers;
  std::vector<std::exception_ptr> errors(static_cast<std::size_t>(threads));
  const std::int64_t per = (rows + threads - 1) / threads;
  auto guarded = [&fn, &errors](int t, std::int64_t begin, std::int64_t end) {
    try {
      fn(begin, end);
    } catch (...) {
      errors[static_cast<std::size_t>(t)] = std::current_exception();
    }
  };
  for (int t = 1; t < threads; ++t) {
    const std::int64_t begin = t * per, end = std::min(rows, begin + per);
    if (begin < end) workers.emplace_back(guarded, t, begin, end);
  }
  guarded(0, 0, std::min(rows, per));  // the calling thread takes the first range
  for (auto& w : workers) w.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

// Runs fn(i) for every i in [0, n) on up to `threads` threads (0: all cores), each taking
// the next index when it is free: for items of uneven cost, such as decoding images of
// different sizes. Exceptions as parallel_ranges.
template <typename Fn>
void parallel_for_each_index(std::size_t n, int threads, Fn&& fn) {
  std::atomic<std::size_t> next{0};
  parallel_ranges(static_cast<std::int64_t>(std::min<std::size_t>(n, static_cast<std::size_t>(resolve_threads(threads)))),
                  threads, [&](std::int64_t, std::int64_t) {
                    for (std::size_t i; (i = next.fetch_add(1)) < n;) fn(i);
                  });
}

}  // namespace recap
