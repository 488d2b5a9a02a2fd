#pragma once
// Pillow's resampling (ImagingResample, Resample.c) re-implemented: separable filters
// whose support grows with the shrink factor (antialiasing), coefficients rounded to
// 22-bit fixed point, a horizontal pass rounded to 8 bits, then a vertical pass. Output
// is byte-identical to Image.resize(size, BICUBIC) for 8-bit images. OpenCV's
// INTER_CUBIC is not a substitute: it does not antialias (docs/architecture.md, "Images are preprocessed as PIL does").
#include <cstdint>

namespace recap::vision {

enum class ResampleFilter { bicubic, bilinear, nearest };

// A window [x0, x0+w) x [y0, y0+h) of the image resized to out_width x out_height.
// Computing only the window gives the same pixels as resizing everything and cropping.
struct ResizeWindow {
  int x0 = 0, y0 = 0, width = 0, height = 0;
};

// `in` is interleaved (in_height x in_width x channels); `out` receives window.height x
// window.width x channels bytes.
void resize_window(const std::uint8_t* in, int in_width, int in_height, int channels, int out_width,
                   int out_height, const ResizeWindow& window, ResampleFilter filter, std::uint8_t* out);

}  // namespace recap::vision
