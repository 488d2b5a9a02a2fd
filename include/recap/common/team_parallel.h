#pragma once
// parallel_ranges (parallel.h) on the calling thread's OpenMP team: the threads that run
// oneDNN's products. Between two products libgomp's team threads spin for a while,
// waiting for the next parallel region; work handed to other threads then competes with
// them for the cores. recap-fit, which reads and normalises rows between its products,
// took 1.14x the time that way on 2 cores of a Zen 5 (and ran 0.88x with OMP_WAIT_POLICY=
// PASSIVE, which would slow every small product down instead). Work that the team does
// itself leaves nothing spinning beside it.
#include <cstdint>
#include <functional>

namespace recap {

// Splits [0, rows) into contiguous ranges, one per thread of a team of up to `threads`
// (0: all cores), and runs fn(begin, end) on each. Inside a parallel region it runs
// fn(0, rows) on the caller. The first exception of the lowest range is rethrown once
// every range has finished.
void team_ranges(std::int64_t rows, int threads, const std::function<void(std::int64_t, std::int64_t)>& fn);

}  // namespace recap
