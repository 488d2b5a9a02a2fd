#include "recap/vision/image_header.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace recap::vision {
namespace {

std::uint64_t byte(std::string_view b, std::size_t at) { return static_cast<unsigned char>(b[at]); }
std::uint64_t little16(std::string_view b, std::size_t at) { return byte(b, at) | byte(b, at + 1) << 8; }
std::uint64_t little24(std::string_view b, std::size_t at) { return little16(b, at) | byte(b, at + 2) << 16; }
std::uint64_t little32(std::string_view b, std::size_t at) { return little24(b, at) | byte(b, at + 3) << 24; }
std::uint64_t big32(std::string_view b, std::size_t at) {
  return byte(b, at) << 24 | byte(b, at + 1) << 16 | byte(b, at + 2) << 8 | byte(b, at + 3);
}
bool starts_with(std::string_view b, std::string_view magic, std::size_t at = 0) {
  return b.size() >= at + magic.size() && b.substr(at, magic.size()) == magic;
}

// PBM/PGM/PPM (P1-P6): the width and height after the magic, between whitespace and
// '#' comments. OpenCV's own cap (OPENCV_IO_MAX_IMAGE_PIXELS, set by decode_image) did not
// stop a fuzzed TIFF declaring 914 million pixels, so every format OpenCV decodes is sized
// here rather than trusted to it.
std::optional<DeclaredSize> pnm_size(std::string_view b) {
  if (b.size() < 3 || b[0] != 'P' || b[1] < '1' || b[1] > '6') return std::nullopt;
  std::size_t at = 2;
  std::uint64_t sides[2] = {0, 0};
  for (auto& side : sides) {
    while (at < b.size() && (std::isspace(static_cast<unsigned char>(b[at])) || b[at] == '#')) {
      if (b[at] == '#') while (at < b.size() && b[at] != '\n') ++at;
      else ++at;
    }
    std::size_t digits = 0;
    while (at < b.size() && std::isdigit(static_cast<unsigned char>(b[at])) && digits < 12) {
      side = side * 10 + static_cast<std::uint64_t>(b[at] - '0');
      ++at;
      ++digits;
    }
    if (digits == 0) return std::nullopt;
  }
  return DeclaredSize{sides[0], sides[1]};
}

// TIFF: from the first IFD, in the file's byte order, ImageWidth (256) and ImageLength
// (257), and TileWidth (322) and TileLength (323) when the image is tiled. Values are read
// in every integer type libtiff accepts for these tags (BYTE, SHORT, LONG, their signed
// forms, and LONG8 / SLONG8 out of line), not only SHORT and LONG; other entries are
// skipped. Without this, OpenCV sized its buffer from a forged width x height (a fuzzed
// 200-byte file asked for 3.6 GB), and it sizes its tile buffer from the tile tags, which
// may exceed the image: a 166-byte file declaring 15008 x 15008 tiles over a 16 x 16 image
// makes it fill 900 MB.
std::optional<DeclaredSize> tiff_size(std::string_view b) {
  const bool little = starts_with(b, std::string_view("II*\0", 4));
  if (!little && !starts_with(b, std::string_view("MM\0*", 4))) return std::nullopt;
  const auto u16 = [&](std::size_t at) { return little ? little16(b, at) : (byte(b, at) << 8 | byte(b, at + 1)); };
  const auto u32 = [&](std::size_t at) { return little ? little32(b, at) : big32(b, at); };
  const auto u64 = [&](std::size_t at) {
    return little ? (u32(at) | u32(at + 4) << 32) : (u32(at) << 32 | u32(at + 4));
  };
  // The entry's first value as an unsigned number (a negative signed one becomes huge,
  // which only makes the check stricter); nullopt for non-integer types or data past the end.
  const auto integer = [&](std::size_t at) -> std::optional<std::uint64_t> {
    switch (u16(at + 2)) {
      case 1: case 6: return byte(b, at + 8);                          // BYTE, SBYTE
      case 3: case 8: return u16(at + 8);                              // SHORT, SSHORT
      case 4: case 9: return u32(at + 8);                              // LONG, SLONG
      case 16: case 17: {                                              // LONG8, SLONG8: at an offset
        const std::uint64_t offset = u32(at + 8);
        if (offset + 8 > b.size()) return std::nullopt;
        // libtiff refuses these tags past 32 bits; saturating keeps width x height in 64 bits.
        return std::min<std::uint64_t>(u64(static_cast<std::size_t>(offset)), 0xFFFFFFFFu);
      }
      default: return std::nullopt;
    }
  };
  if (b.size() < 8) return std::nullopt;
  const std::uint64_t ifd = u32(4);
  if (ifd + 2 > b.size()) return std::nullopt;
  const std::uint64_t entries = u16(ifd);
  DeclaredSize size;
  for (std::uint64_t i = 0; i < entries && ifd + 2 + 12 * (i + 1) <= b.size(); ++i) {
    const std::size_t at = ifd + 2 + 12 * i;
    std::uint64_t* field = nullptr;
    switch (u16(at)) {
      case 256: field = &size.width; break;
      case 257: field = &size.height; break;
      case 322: field = &size.tile_width; break;
      case 323: field = &size.tile_height; break;
      default: continue;
    }
    // A tag given twice: the larger value, whichever one the decoder believes.
    if (const auto value = integer(at)) *field = std::max(*field, *value);
  }
  if (size.width == 0 || size.height == 0) return std::nullopt;
  // A tiled image's missing tile side is the image's, as OpenCV reads it.
  if (size.tile_width != 0 || size.tile_height != 0) {
    if (size.tile_width == 0) size.tile_width = size.width;
    if (size.tile_height == 0) size.tile_height = size.height;
  }
  return size;
}

}  // namespace

std::optional<DeclaredSize> declared_image_size(std::string_view b) {
  if (starts_with(b, "\x89PNG\r\n\x1A\n") && b.size() >= 24)  // IHDR is the first chunk
    return DeclaredSize{big32(b, 16), big32(b, 20)};
  if ((starts_with(b, "GIF87a") || starts_with(b, "GIF89a")) && b.size() >= 10)
    return DeclaredSize{little16(b, 6), little16(b, 8)};
  if (starts_with(b, "BM") && b.size() >= 26) {
    const auto header_size = little32(b, 14);
    if (header_size == 12)  // OS/2 BITMAPCOREHEADER: 16-bit sizes
      return DeclaredSize{little16(b, 18), little16(b, 20)};
    // BITMAPINFOHEADER and later: signed 32-bit sizes; a negative height means top-down rows.
    const auto width = static_cast<std::int32_t>(little32(b, 18));
    const auto height = static_cast<std::int32_t>(little32(b, 22));
    return DeclaredSize{static_cast<std::uint64_t>(std::llabs(width)), static_cast<std::uint64_t>(std::llabs(height))};
  }
  if (starts_with(b, "RIFF") && starts_with(b, "WEBP", 8) && b.size() >= 30) {
    if (starts_with(b, "VP8X", 12)) return DeclaredSize{little24(b, 24) + 1, little24(b, 27) + 1};
    if (starts_with(b, "VP8 ", 12)) return DeclaredSize{little16(b, 26) & 0x3FFF, little16(b, 28) & 0x3FFF};
    if (starts_with(b, "VP8L", 12)) {
      const auto bits = little32(b, 21);  // after the 0x2F signature byte
      return DeclaredSize{(bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1};
    }
  }
  if (const auto pnm = pnm_size(b)) return pnm;
  return tiff_size(b);
}

bool is_supported_image_format(std::string_view b) {
  // OpenCV picks its decoder by signature, not by what we saw: a file that also carries
  // DICOM's ("DICM" at byte 128) can still reach GDCM when the format we allowed fails
  // its own check. No JPEG, PNG, BMP, WebP, TIFF or PNM needs those bytes to be "DICM".
  if (starts_with(b, "DICM", 128)) return false;
  if (starts_with(b, "\xFF\xD8\xFF") || starts_with(b, "\x89PNG\r\n\x1A\n") || starts_with(b, "BM")) return true;
  if (starts_with(b, "RIFF") && starts_with(b, "WEBP", 8)) return true;
  if (starts_with(b, std::string_view("II*\0", 4)) || starts_with(b, std::string_view("MM\0*", 4))) return true;  // TIFF
  return b.size() >= 3 && b[0] == 'P' && b[1] >= '1' && b[1] <= '6' &&
         std::isspace(static_cast<unsigned char>(b[2]));  // PBM / PGM / PPM
}

}  // namespace recap::vision
