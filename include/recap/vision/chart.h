#pragma once
// Small-multiple line charts drawn with OpenCV and written as PNG: one panel per series,
// each with its own y range, sharing the x axis. recap-dal draws its validation scores
// per iteration with it, so that the effect of the loop is seen, not only read.
#include <filesystem>
#include <string>
#include <vector>

namespace recap::vision {

struct ChartSeries {
  std::string name;
  std::vector<double> values;  // one per x
};

// Writes `path` (PNG). `x` labels the points (e.g. iterations 0, 1, 2).
void write_line_charts(const std::filesystem::path& path, const std::string& title, const std::vector<int>& x,
                       const std::vector<ChartSeries>& series);

}  // namespace recap::vision
