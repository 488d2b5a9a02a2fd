#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "recap/common/team_parallel.h"

namespace recap {
namespace {

TEST(TeamRanges, EveryRowOnceInContiguousRangesInOrder) {
  for (int threads : {1, 2, 3, 7}) {
    const std::int64_t rows = 1003;
    std::vector<std::atomic<int>> seen(rows);
    std::mutex lock;
    std::vector<std::pair<std::int64_t, std::int64_t>> ranges;
    team_ranges(rows, threads, [&](std::int64_t begin, std::int64_t end) {
      for (auto i = begin; i < end; ++i) seen[static_cast<std::size_t>(i)]++;
      const std::lock_guard<std::mutex> hold(lock);
      ranges.emplace_back(begin, end);
    });
    for (std::int64_t i = 0; i < rows; ++i) ASSERT_EQ(seen[static_cast<std::size_t>(i)], 1) << "row " << i;
    EXPECT_EQ(static_cast<int>(ranges.size()), threads);
    std::sort(ranges.begin(), ranges.end());
    for (std::size_t r = 1; r < ranges.size(); ++r) EXPECT_EQ(ranges[r].first, ranges[r - 1].second);
  }
}

// The point of it: the ranges run on an OpenMP team (the one oneDNN's products use), the
// caller's thread taking the first range.
TEST(TeamRanges, RangesRunOnTheCallersOpenMpTeam) {
  std::atomic<int> in_team{0};
  std::atomic<bool> first_on_caller{false};
  const auto caller = std::this_thread::get_id();
  team_ranges(10, 2, [&](std::int64_t begin, std::int64_t) {
    if (omp_in_parallel()) in_team++;
    if (begin == 0) first_on_caller = std::this_thread::get_id() == caller;
  });
  EXPECT_EQ(in_team, 2);
  EXPECT_TRUE(first_on_caller);
}

TEST(TeamRanges, TheLowestRangesErrorIsRethrownAfterEveryRangeRan) {
  std::atomic<int> ran{0};
  try {
    team_ranges(100, 4, [&](std::int64_t begin, std::int64_t) {
      ran++;
      if (begin >= 25) throw std::runtime_error("range at " + std::to_string(begin));
    });
    FAIL() << "no error rethrown";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "range at 25");
  }
  EXPECT_EQ(ran, 4);
}

TEST(TeamRanges, InsideAParallelRegionTheCallerRunsEverything) {
  std::atomic<int> whole{0}, calls{0};
#pragma omp parallel num_threads(2)
  team_ranges(10, 2, [&](std::int64_t begin, std::int64_t end) {
    calls++;
    if (begin == 0 && end == 10) whole++;
  });
  EXPECT_EQ(calls.load(), whole.load());
  EXPECT_GE(whole.load(), 1);
}

TEST(TeamRanges, NoRowsNoCalls) {
  int calls = 0;
  team_ranges(0, 4, [&](std::int64_t, std::int64_t) { ++calls; });
  EXPECT_EQ(calls, 0);
}

}  // namespace
}  // namespace recap
