#pragma once
// Decoded images as CLIP's reference pipeline (PIL) sees them, without OpenCV types:
// interleaved 8-bit pixels in RGB order, grey kept as one channel and alpha kept as a
// fourth so that resizing can treat them as PIL does. EXIF orientation is NOT applied
// (PIL's Image.open does not apply it; docs/architecture.md, "Images are preprocessed as PIL does").
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace recap::vision {

struct DecodedImage {
  int width = 0;
  int height = 0;
  int channels = 0;             // 1 (grey), 3 (RGB) or 4 (RGBA)
  bool nearest_resize = false;  // palette or 1-bit image: PIL resizes these with NEAREST
  std::vector<std::uint8_t> pixels;  // height x width x channels

  const std::uint8_t* row(int y) const { return pixels.data() + static_cast<std::size_t>(y) * width * channels; }
};

// Decompression bombs: a few hundred bytes can declare 40000 x 40000 pixels. Images with
// more pixels than the limit are refused from their header, before anything is allocated.
// The default is PIL's: Image.MAX_IMAGE_PIXELS x 2, where PIL raises DecompressionBombError.
constexpr std::int64_t kDefaultMaxImagePixels = 178956970;
// Process-wide (the tools set it once from --max-image-pixels before decoding anything);
// it also caps OpenCV's own decoders (OPENCV_IO_MAX_IMAGE_PIXELS).
void set_max_image_pixels(std::int64_t limit);
std::int64_t max_image_pixels();

// Decodes JPEG, PNG, BMP, WebP, TIFF... Throws InputError("<name>: ...") for unreadable,
// truncated, empty or too large images; `name` is only used in messages.
DecodedImage decode_image(const std::string& bytes, const std::string& name);
DecodedImage read_image(const std::filesystem::path& path);

// File extensions read_image understands, lower-case with the dot (for folder listings).
bool has_image_extension(const std::filesystem::path& path);

}  // namespace recap::vision
