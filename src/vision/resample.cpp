// Pillow's two-pass fixed-point resampler (libImaging/Resample.c), rewritten from its
// documented behaviour: same coefficients, same rounding, same pass order.
#include "recap/vision/resample.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

namespace recap::vision {
namespace {

constexpr int kPrecisionBits = 32 - 8 - 2;

double bicubic(double x) {
  constexpr double a = -0.5;
  x = std::fabs(x);
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}

double bilinear(double x) {
  x = std::fabs(x);
  return x < 1.0 ? 1.0 - x : 0.0;
}

// Per output position: first input index, tap count, and `taps` fixed-point weights.
struct Coefficients {
  int taps = 0;
  std::vector<int> first;
  std::vector<int> count;
  std::vector<std::int32_t> weights;  // outputs x taps
};

// precompute_coeffs + normalize_coeffs_8bpc for output positions [begin, end).
Coefficients precompute(int in_size, int out_size, int begin, int end, ResampleFilter filter) {
  const double support_base = filter == ResampleFilter::bicubic ? 2.0 : 1.0;
  double (*kernel)(double) = filter == ResampleFilter::bicubic ? bicubic : bilinear;
  const double scale = static_cast<double>(in_size) / out_size;
  const double filterscale = std::max(scale, 1.0);
  const double support = support_base * filterscale;
  Coefficients c;
  c.taps = static_cast<int>(std::ceil(support)) * 2 + 1;
  const int n = end - begin;
  c.first.resize(n);
  c.count.resize(n);
  c.weights.assign(static_cast<std::size_t>(n) * c.taps, 0);
  std::vector<double> k(c.taps);
  for (int i = 0; i < n; ++i) {
    const int xx = begin + i;
    const double center = (xx + 0.5) * scale;
    const double ss = 1.0 / filterscale;
    int xmin = static_cast<int>(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    int xmax = static_cast<int>(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    xmax -= xmin;
    double ww = 0.0;
    for (int x = 0; x < xmax; ++x) {
      k[x] = kernel((x + xmin - center + 0.5) * ss);
      ww += k[x];
    }
    for (int x = 0; x < xmax; ++x) {
      const double w = ww != 0.0 ? k[x] / ww : k[x];
      const double scaled = w * (1 << kPrecisionBits);
      c.weights[static_cast<std::size_t>(i) * c.taps + x] =
          static_cast<std::int32_t>(w < 0 ? -0.5 + scaled : 0.5 + scaled);
    }
    c.first[i] = xmin;
    c.count[i] = xmax;
  }
  return c;
}

inline std::uint8_t clip8(std::int32_t v) {
  v >>= kPrecisionBits;  // arithmetic shift: floor, as Pillow's lookup table
  return static_cast<std::uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : v));
}

template <int C>
void horizontal(const std::uint8_t* in, int in_width, int rows, const Coefficients& c, std::uint8_t* out) {
  const int out_width = static_cast<int>(c.first.size());
  for (int y = 0; y < rows; ++y) {
    const std::uint8_t* src = in + static_cast<std::size_t>(y) * in_width * C;
    std::uint8_t* dst = out + static_cast<std::size_t>(y) * out_width * C;
    for (int x = 0; x < out_width; ++x) {
      const std::int32_t* k = c.weights.data() + static_cast<std::size_t>(x) * c.taps;
      const std::uint8_t* p = src + static_cast<std::size_t>(c.first[x]) * C;
      std::int32_t ss[C];
      for (int ch = 0; ch < C; ++ch) ss[ch] = 1 << (kPrecisionBits - 1);
      for (int t = 0; t < c.count[x]; ++t) {
        for (int ch = 0; ch < C; ++ch) ss[ch] += p[t * C + ch] * k[t];
      }
      for (int ch = 0; ch < C; ++ch) dst[x * C + ch] = clip8(ss[ch]);
    }
  }
}

// `in` holds rows starting at input row `row_offset`.
void vertical(const std::uint8_t* in, int row_bytes, int row_offset, const Coefficients& c, std::uint8_t* out) {
  const int out_rows = static_cast<int>(c.first.size());
  std::vector<std::int32_t> ss(row_bytes);
  for (int y = 0; y < out_rows; ++y) {
    std::fill(ss.begin(), ss.end(), 1 << (kPrecisionBits - 1));
    const std::int32_t* k = c.weights.data() + static_cast<std::size_t>(y) * c.taps;
    for (int t = 0; t < c.count[y]; ++t) {
      const std::uint8_t* src = in + static_cast<std::size_t>(c.first[y] + t - row_offset) * row_bytes;
      const std::int32_t w = k[t];
      for (int i = 0; i < row_bytes; ++i) ss[i] += src[i] * w;
    }
    std::uint8_t* dst = out + static_cast<std::size_t>(y) * row_bytes;
    for (int i = 0; i < row_bytes; ++i) dst[i] = clip8(ss[i]);
  }
}

// Pillow's NEAREST resize (an affine transform sampling at pixel centres).
void nearest(const std::uint8_t* in, int in_width, int in_height, int channels, int out_width, int out_height,
             const ResizeWindow& w, std::uint8_t* out) {
  const double sx = static_cast<double>(in_width) / out_width, sy = static_cast<double>(in_height) / out_height;
  for (int y = 0; y < w.height; ++y) {
    const int yin = std::min(in_height - 1, static_cast<int>((w.y0 + y + 0.5) * sy));
    for (int x = 0; x < w.width; ++x) {
      const int xin = std::min(in_width - 1, static_cast<int>((w.x0 + x + 0.5) * sx));
      const std::uint8_t* p = in + (static_cast<std::size_t>(yin) * in_width + xin) * channels;
      std::copy(p, p + channels, out + (static_cast<std::size_t>(y) * w.width + x) * channels);
    }
  }
}

}  // namespace

void resize_window(const std::uint8_t* in, int in_width, int in_height, int channels, int out_width, int out_height,
                   const ResizeWindow& window, ResampleFilter filter, std::uint8_t* out) {
  if (in_width <= 0 || in_height <= 0 || out_width <= 0 || out_height <= 0 || channels < 1 || channels > 4 ||
      window.x0 < 0 || window.y0 < 0 || window.width <= 0 || window.height <= 0 ||
      window.x0 + window.width > out_width || window.y0 + window.height > out_height) {
    throw std::invalid_argument("resize_window: bad sizes");
  }
  if (filter == ResampleFilter::nearest) {
    nearest(in, in_width, in_height, channels, out_width, out_height, window, out);
    return;
  }
  const bool need_horizontal = out_width != in_width;
  const bool need_vertical = out_height != in_height;
  // Input rows the vertical pass reads (all window rows when there is no vertical pass).
  Coefficients vert;
  int row_first = window.y0, row_last = window.y0 + window.height;
  if (need_vertical) {
    vert = precompute(in_height, out_height, window.y0, window.y0 + window.height, filter);
    row_first = vert.first.front();
    row_last = vert.first.back() + vert.count.back();
  }
  const int rows = row_last - row_first;
  const std::uint8_t* rows_in = in + static_cast<std::size_t>(row_first) * in_width * channels;
  std::vector<std::uint8_t> temp;
  const std::uint8_t* stage = rows_in;
  int stage_width = in_width;
  if (need_horizontal) {
    const Coefficients horiz = precompute(in_width, out_width, window.x0, window.x0 + window.width, filter);
    temp.resize(static_cast<std::size_t>(rows) * window.width * channels);
    switch (channels) {
      case 1: horizontal<1>(rows_in, in_width, rows, horiz, temp.data()); break;
      case 2: horizontal<2>(rows_in, in_width, rows, horiz, temp.data()); break;
      case 3: horizontal<3>(rows_in, in_width, rows, horiz, temp.data()); break;
      default: horizontal<4>(rows_in, in_width, rows, horiz, temp.data()); break;
    }
    stage = temp.data();
    stage_width = window.width;
  }
  // Without a horizontal pass the window's columns are a plain slice of each row.
  std::vector<std::uint8_t> sliced;
  if (!need_horizontal && (window.x0 != 0 || window.width != in_width)) {
    sliced.resize(static_cast<std::size_t>(rows) * window.width * channels);
    for (int y = 0; y < rows; ++y) {
      const std::uint8_t* src = stage + (static_cast<std::size_t>(y) * stage_width + window.x0) * channels;
      std::copy(src, src + window.width * channels, sliced.data() + static_cast<std::size_t>(y) * window.width * channels);
    }
    stage = sliced.data();
  }
  const int row_bytes = window.width * channels;
  if (need_vertical) {
    vertical(stage, row_bytes, row_first, vert, out);
  } else {
    std::copy(stage, stage + static_cast<std::size_t>(rows) * row_bytes, out);
  }
}

}  // namespace recap::vision
