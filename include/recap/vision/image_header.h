#pragma once
// The pixel size an image file declares in its header, read without decoding anything, so
// that a decompression bomb (a few hundred bytes declaring 40000 x 40000 pixels) can be
// refused before a decoder allocates for it. No OpenCV here: the fuzzers build it alone.
#include <cstdint>
#include <optional>
#include <string_view>

namespace recap::vision {

struct DeclaredSize {
  std::uint64_t width = 0;
  std::uint64_t height = 0;
  // A tiled TIFF's tile: the decoder allocates one whole tile at a time, and a tile may be
  // larger than the image. 0 x 0 for every other file.
  std::uint64_t tile_width = 0;
  std::uint64_t tile_height = 0;
};

// PNG (IHDR), GIF (logical screen), BMP (DIB header), WebP (VP8, VP8L, VP8X), TIFF (first IFD,
// with its tile size), PNM. Nothing for
// other formats or headers too short to hold a size; JPEG is read by libjpeg itself.
std::optional<DeclaredSize> declared_image_size(std::string_view bytes);

// Whether the bytes start like a format recap decodes: JPEG, PNG, BMP, WebP, TIFF or
// PNM (PBM/PGM/PPM). Only these reach OpenCV: its other decoders (DICOM through GDCM,
// JPEG 2000, OpenEXR, ...) are more code than captioning needs to expose to untrusted
// files, and GDCM aborts the whole process on some malformed ones (found by fuzzing).
bool is_supported_image_format(std::string_view bytes);

}  // namespace recap::vision
