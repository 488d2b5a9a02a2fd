// recap::vision::declared_image_size (include/recap/vision/image_header.h): the pixel size
// a PNG, GIF, BMP, WebP or TIFF header declares, read before any decoder runs (the decompression
// bomb check of decode_image). No OpenCV. It never throws; any exception is a finding.
// Checked properties: a size is only returned for the formats the header names, and each
// side fits the field it was read from (32 bits for PNG, BMP and TIFF, 16 for GIF, 24 + 1
// for WebP), so that the caller's width x height cannot overflow 64 bits; TIFF's sides and
// tiles come in any integer type, LONG8 saturated to 32 bits.
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_support.h"
#include "recap/vision/image_header.h"

using namespace recap;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes = fuzz::as_text(data, size);
  fuzz::guard([&] {
    const auto declared = vision::declared_image_size(bytes);
    if (!declared) return;
    const auto starts = [&](std::string_view magic) { return bytes.substr(0, magic.size()) == magic; };
    std::uint64_t limit = 0;
    if (starts("\x89PNG\r\n\x1A\n")) limit = 0xFFFFFFFFu;
    else if (starts("GIF87a") || starts("GIF89a")) limit = 0xFFFFu;
    else if (starts("BM")) limit = 0x80000000u;
    else if (starts("RIFF") && bytes.size() >= 12 && bytes.substr(8, 4) == "WEBP") limit = 0x1000000u;
    else if (starts(std::string_view("II*\0", 4)) || starts(std::string_view("MM\0*", 4))) limit = 0xFFFFFFFFu;  // TIFF
    else if (bytes.size() >= 2 && bytes[0] == 'P' && bytes[1] >= '1' && bytes[1] <= '6') limit = 999999999999u;  // PNM: 12 digits
    FUZZ_CHECK(limit != 0, "a size for an unknown format");
    FUZZ_CHECK(declared->width <= limit && declared->height <= limit,
               std::to_string(declared->width) + " x " + std::to_string(declared->height));
    // Tiles are TIFF's alone, with both sides set (a missing one is the image's), 32 bits each.
    const bool tiled = declared->tile_width != 0 || declared->tile_height != 0;
    FUZZ_CHECK(!tiled || (starts(std::string_view("II*\0", 4)) || starts(std::string_view("MM\0*", 4))), "tiles outside TIFF");
    FUZZ_CHECK(!tiled || (declared->tile_width != 0 && declared->tile_height != 0 && declared->tile_width <= limit &&
                          declared->tile_height <= limit),
               "tile " + std::to_string(declared->tile_width) + " x " + std::to_string(declared->tile_height));
  });
  return 0;
}
