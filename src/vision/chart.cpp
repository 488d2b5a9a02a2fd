#include "recap/vision/chart.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "recap/common/error.h"

namespace recap::vision {
namespace {

constexpr int kPanelWidth = 360, kPanelHeight = 220, kColumns = 3, kTitleHeight = 40;
const cv::Scalar kInk(40, 40, 40), kGrid(225, 225, 225), kLine(180, 90, 20);

std::string format_value(double v) {
  char text[32];
  std::snprintf(text, sizeof text, std::fabs(v) >= 100 ? "%.0f" : "%.3g", v);
  return text;
}

void draw_panel(cv::Mat& canvas, cv::Rect area, const std::vector<int>& x, const ChartSeries& s) {
  const int left = area.x + 56, right = area.x + area.width - 16, top = area.y + 30, bottom = area.y + area.height - 34;
  cv::putText(canvas, s.name, {area.x + 10, area.y + 20}, cv::FONT_HERSHEY_SIMPLEX, 0.55, kInk, 1, cv::LINE_AA);
  double lo = *std::min_element(s.values.begin(), s.values.end());
  double hi = *std::max_element(s.values.begin(), s.values.end());
  if (hi - lo < 1e-12) {  // a flat series still gets a visible range
    const double pad = std::max(1e-3, std::fabs(hi) * 0.05);
    lo -= pad;
    hi += pad;
  }
  auto px = [&](std::size_t i) {
    return x.size() < 2 ? (left + right) / 2 : left + static_cast<int>((right - left) * i / (x.size() - 1));
  };
  auto py = [&](double v) { return bottom - static_cast<int>(std::lround((bottom - top) * (v - lo) / (hi - lo))); };
  for (int g = 0; g <= 2; ++g) {
    const double v = lo + (hi - lo) * g / 2;
    cv::line(canvas, {left, py(v)}, {right, py(v)}, kGrid, 1);
    cv::putText(canvas, format_value(v), {area.x + 4, py(v) + 4}, cv::FONT_HERSHEY_SIMPLEX, 0.38, kInk, 1, cv::LINE_AA);
  }
  cv::line(canvas, {left, bottom}, {right, bottom}, kInk, 1);
  for (std::size_t i = 0; i < x.size(); ++i)
    cv::putText(canvas, std::to_string(x[i]), {px(i) - 4, bottom + 16}, cv::FONT_HERSHEY_SIMPLEX, 0.4, kInk, 1, cv::LINE_AA);
  for (std::size_t i = 0; i < s.values.size(); ++i) {
    const cv::Point p(px(i), py(s.values[i]));
    if (i > 0) cv::line(canvas, {px(i - 1), py(s.values[i - 1])}, p, kLine, 2, cv::LINE_AA);
    cv::circle(canvas, p, 4, kLine, cv::FILLED, cv::LINE_AA);
  }
  cv::putText(canvas, "iteration", {(left + right) / 2 - 28, bottom + 30}, cv::FONT_HERSHEY_SIMPLEX, 0.38, kInk, 1,
              cv::LINE_AA);
}

}  // namespace

void write_line_charts(const std::filesystem::path& path, const std::string& title, const std::vector<int>& x,
                       const std::vector<ChartSeries>& series) {
  if (series.empty() || x.empty()) throw Error(ExitCode::internal, "write_line_charts: nothing to draw");
  for (const auto& s : series)
    if (s.values.size() != x.size()) throw Error(ExitCode::internal, "write_line_charts: " + s.name + " has a wrong length");
  const int columns = std::min<int>(kColumns, static_cast<int>(series.size()));
  const int rows = (static_cast<int>(series.size()) + columns - 1) / columns;
  cv::Mat canvas(kTitleHeight + rows * kPanelHeight, columns * kPanelWidth, CV_8UC3, cv::Scalar(255, 255, 255));
  cv::putText(canvas, title, {10, 26}, cv::FONT_HERSHEY_SIMPLEX, 0.65, kInk, 1, cv::LINE_AA);
  for (std::size_t i = 0; i < series.size(); ++i) {
    const int r = static_cast<int>(i) / columns, c = static_cast<int>(i) % columns;
    draw_panel(canvas, {c * kPanelWidth, kTitleHeight + r * kPanelHeight, kPanelWidth, kPanelHeight}, x, series[i]);
  }
  if (!cv::imwrite(path.string(), canvas)) throw InputError(path.string() + ": cannot write the chart");
}

}  // namespace recap::vision
