// CLIP preprocessing against the tensors PIL + torchvision produced (golden/preprocess),
// the resampler against closed-form cases, and every kind of broken image.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "recap/common/error.h"
#include "recap/io/json_file.h"
#include "recap/io/npy_tensor.h"
#include "recap/vision/image.h"
#include "recap/vision/image_header.h"
#include "recap/vision/preprocess.h"
#include "recap/vision/resample.h"
#include "test_support.h"

namespace fs = std::filesystem;
using namespace recap::vision;

namespace {

fs::path golden_dir() { return recap::test::test_data_dir() / "golden/preprocess"; }

void check_size(int size) {
  const auto cases = recap::io::read_json(golden_dir() / ("cases_" + std::to_string(size) + ".json"));
  PreprocessConfig config = PreprocessConfig::openai(size);
  for (int c = 0; c < 3; ++c) {
    EXPECT_FLOAT_EQ(config.mean[c], cases["mean"][c].get<float>());
    EXPECT_FLOAT_EQ(config.std[c], cases["std"][c].get<float>());
  }
  int checked = 0;
  for (const auto& c : cases["cases"]) {
    const auto golden = recap::io::read_npy_float(golden_dir() / c["golden"].get<std::string>());
    ASSERT_EQ(golden.shape, (std::vector<std::int64_t>{3, size, size}));
    std::vector<float> ours(golden.values.size());
    preprocess_file(golden_dir() / c["image"].get<std::string>(), config, ours.data());
    double sum = 0, worst = 0;
    for (std::size_t i = 0; i < ours.size(); ++i) {
      const double d = std::fabs(double(ours[i]) - golden.values[i]);
      sum += d;
      worst = std::max(worst, d);
    }
    const double mean = sum / ours.size();
    EXPECT_LE(mean, 2e-3) << c["image"];  // the tolerance
    EXPECT_LE(worst, 0.05) << c["image"];
    EXPECT_EQ(worst, 0.0) << c["image"];   // what the README claims: PIL's exact tensor
    std::printf("  %-45s %3d px: mean abs diff %.2e, max abs diff %.2e\n", c["image"].get<std::string>().c_str(),
                size, mean, worst);
    ++checked;
  }
  EXPECT_EQ(checked, 11);
}

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const recap::InputError& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST(Preprocess, GoldenTensorsAt224) { check_size(224); }
TEST(Preprocess, GoldenTensorsAt64) { check_size(64); }

TEST(Resample, UniformImageStaysUniformAndIdentityCopies) {
  std::vector<std::uint8_t> flat(37 * 23 * 3, 200);
  std::vector<std::uint8_t> out(11 * 7 * 3);
  resize_window(flat.data(), 37, 23, 3, 11, 7, {0, 0, 11, 7}, ResampleFilter::bicubic, out.data());
  for (auto v : out) ASSERT_EQ(v, 200);
  std::vector<std::uint8_t> ramp(9 * 5);
  for (std::size_t i = 0; i < ramp.size(); ++i) ramp[i] = static_cast<std::uint8_t>(i * 5);
  std::vector<std::uint8_t> same(ramp.size());
  resize_window(ramp.data(), 9, 5, 1, 9, 5, {0, 0, 9, 5}, ResampleFilter::bicubic, same.data());
  EXPECT_EQ(same, ramp);
}

TEST(Resample, WindowEqualsCropOfFullResize) {
  const auto noise = recap::test::random_normal(1, 50 * 31 * 3, 7);
  std::vector<std::uint8_t> image(noise.values.size());
  for (std::size_t i = 0; i < image.size(); ++i) image[i] = static_cast<std::uint8_t>(128 + 40 * noise.values[i]);
  std::vector<std::uint8_t> full(20 * 13 * 3), part(9 * 6 * 3);
  resize_window(image.data(), 50, 31, 3, 20, 13, {0, 0, 20, 13}, ResampleFilter::bicubic, full.data());
  resize_window(image.data(), 50, 31, 3, 20, 13, {5, 4, 9, 6}, ResampleFilter::bicubic, part.data());
  for (int y = 0; y < 6; ++y)
    for (int x = 0; x < 9 * 3; ++x) ASSERT_EQ(part[y * 27 + x], full[(y + 4) * 60 + 15 + x]);
}

TEST(Resample, TwoToOneBicubicMatchesHandComputedWeights) {
  // Shrinking 4 -> 2 (scale 2): the filter is stretched to support 4, so output 0 (centre
  // 1.0) reads inputs 0..3 at distances (x - 0.5) / 2 = -0.25, 0.25, 0.75, 1.25 with
  // bicubic(a=-0.5) weights 0.8671875, 0.8671875, 0.2265625, -0.0703125 (sum 1.890625):
  // (0*w0 + 100*w1 + 200*w2 + 255*w3) / sum = 60.35 -> 60 (fixed point, rounded).
  const std::uint8_t row[4] = {0, 100, 200, 255};
  std::uint8_t out[2];
  resize_window(row, 4, 1, 1, 2, 1, {0, 0, 2, 1}, ResampleFilter::bicubic, out);
  EXPECT_EQ(out[0], 60);
  // Output 1 (centre 3.0): distances -1.25, -0.75, -0.25, 0.25 -> mirror image:
  // (0*w3 + 100*w2 + 200*w1 + 255*w0) / sum = (-0 + 22.65625 + 173.4375 + 221.1328125) / 1.890625 = 220.68
  EXPECT_EQ(out[1], 221);
}

TEST(ImageDecode, ExifOrientationIsIgnoredAndAlphaKept) {
  const auto rotated = read_image(golden_dir() / "images/synthetic_exif_rotate90.jpg");
  EXPECT_EQ(rotated.width, 320);  // stored size, not the EXIF-rotated 240 x 320
  EXPECT_EQ(rotated.height, 240);
  const auto rgba = read_image(golden_dir() / "images/synthetic_rgba.png");
  EXPECT_EQ(rgba.channels, 4);
  const auto grey = read_image(golden_dir() / "images/synthetic_gray_wide.jpg");
  EXPECT_EQ(grey.channels, 1);
}

TEST(ImageDecode, BrokenImagesAreOneLineErrors) {
  recap::test::TempDir dir;
  const std::string jpeg = recap::test::read_bytes(golden_dir() / "images/COCO_val2014_000000321647.jpg");
  const std::string png = recap::test::read_bytes(golden_dir() / "images/synthetic_tiny_upscale.png");
  recap::test::write_bytes(dir / "cut.jpg", jpeg.substr(0, jpeg.size() / 2));
  recap::test::write_bytes(dir / "cut.png", png.substr(0, png.size() - 30));
  recap::test::write_bytes(dir / "empty.jpg", "");
  recap::test::write_bytes(dir / "text.jpg", "this is not an image");
  EXPECT_NE(message_of([&] { read_image(dir / "cut.jpg"); }).find("truncated JPEG"), std::string::npos);
  EXPECT_NE(message_of([&] { read_image(dir / "cut.png"); }).find("truncated PNG"), std::string::npos);
  EXPECT_NE(message_of([&] { read_image(dir / "empty.jpg"); }).find("empty file"), std::string::npos);
  EXPECT_NE(message_of([&] { read_image(dir / "text.jpg"); }).find("cannot decode image"), std::string::npos);
  EXPECT_NE(message_of([&] { read_image(dir / "missing.jpg"); }).find("missing.jpg: cannot open"), std::string::npos);
  // The file name leads every message.
  EXPECT_EQ(message_of([&] { read_image(dir / "cut.jpg"); }).rfind((dir / "cut.jpg").string(), 0), 0u);
}

// JPEGs are decoded by libjpeg directly; OpenCV's decoder (the same libjpeg-turbo behind
// another interface) is the independent reference, on baseline, grey and progressive files.
TEST(ImageDecode, JpegPixelsEqualOpenCvDecoding) {
  recap::test::TempDir dir;
  const cv::Mat colour = cv::imread((golden_dir() / "images/COCO_val2014_000000321647.jpg").string());
  ASSERT_FALSE(colour.empty());
  ASSERT_TRUE(cv::imwrite((dir / "progressive.jpg").string(), colour, {cv::IMWRITE_JPEG_PROGRESSIVE, 1}));
  std::vector<fs::path> files = {dir / "progressive.jpg"};
  for (const char* name : {"COCO_val2014_000000321647.jpg", "COCO_val2014_000000442836.jpg", "clipscore_image1.jpg",
                           "synthetic_gray_wide.jpg", "synthetic_exif_rotate90.jpg"}) {
    files.push_back(golden_dir() / "images" / name);
  }
  for (const auto& file : files) {
    cv::Mat expected = cv::imread(file.string(), cv::IMREAD_UNCHANGED | cv::IMREAD_IGNORE_ORIENTATION);
    if (expected.channels() == 3) cv::cvtColor(expected, expected, cv::COLOR_BGR2RGB);
    const auto ours = read_image(file);
    ASSERT_EQ(ours.width, expected.cols) << file;
    ASSERT_EQ(ours.height, expected.rows) << file;
    ASSERT_EQ(ours.channels, expected.channels()) << file;
    EXPECT_TRUE(std::equal(ours.pixels.begin(), ours.pixels.end(), expected.data)) << file;
  }
}

TEST(ImageDecode, CorruptJpegHeaderIsAOneLineError) {
  recap::test::TempDir dir;
  std::string jpeg = recap::test::read_bytes(golden_dir() / "images/COCO_val2014_000000321647.jpg");
  // Past the SOI marker and the first marker, overwrite the segment so that the header cannot be parsed;
  // the end-of-image marker stays, so only libjpeg itself can notice.
  std::fill(jpeg.begin() + 4, jpeg.begin() + 64, '\x01');
  recap::test::write_bytes(dir / "corrupt.jpg", jpeg);
  const std::string message = message_of([&] { read_image(dir / "corrupt.jpg"); });
  EXPECT_EQ(message.rfind((dir / "corrupt.jpg").string() + ": cannot decode JPEG (", 0), 0u) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos);
}

TEST(PreprocessConfig, ReadsHuggingFaceJson) {
  const auto config =
      PreprocessConfig::from_hf_json(recap::test::test_data_dir() / "golden/clip/tiny-vit/hf/preprocessor_config.json");
  EXPECT_EQ(config.resize, 32);
  EXPECT_EQ(config.crop, 32);
  EXPECT_FLOAT_EQ(config.std[2], 0.27577711f);
  EXPECT_NE(config.fingerprint(), PreprocessConfig::openai(32).fingerprint());
}

namespace {
// Patches the frame size in a JPEG's start-of-frame segment (baseline or progressive).
std::string with_jpeg_size(std::string jpeg, int width, int height) {
  for (std::size_t i = 2; i + 9 < jpeg.size(); ++i) {
    const auto marker = static_cast<unsigned char>(jpeg[i + 1]);
    if (static_cast<unsigned char>(jpeg[i]) == 0xFF && (marker == 0xC0 || marker == 0xC2)) {
      jpeg[i + 5] = static_cast<char>(height >> 8), jpeg[i + 6] = static_cast<char>(height & 0xFF);
      jpeg[i + 7] = static_cast<char>(width >> 8), jpeg[i + 8] = static_cast<char>(width & 0xFF);
      return jpeg;
    }
  }
  ADD_FAILURE() << "no start-of-frame marker";
  return jpeg;
}

std::string big_endian(std::uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

// A 24-bit BMP header declaring width x height, followed by a few bytes of pixels.
std::string bmp_header(std::int32_t width, std::int32_t height) {
  std::string b(54, '\0');
  auto put32 = [&](std::size_t at, std::uint32_t v) {
    for (int k = 0; k < 4; ++k) b[at + k] = static_cast<char>(v >> (8 * k));
  };
  b[0] = 'B', b[1] = 'M';
  put32(2, 54 + 64), put32(10, 54), put32(14, 40), put32(18, width), put32(22, height);
  b[26] = 1, b[28] = 24;
  return b + std::string(64, '\x7f');
}

// A little-endian, uncompressed 8-bit grey TIFF of width x height, in one strip or (with
// tile sides) one tile, every pixel 0x40; only the header when `pixels` is false.
// `side_type` is the TIFF type of ImageWidth and ImageLength: 3 SHORT, 4 LONG, 8 SSHORT,
// 9 SLONG (libtiff reads them all).
std::string grey_tiff(std::uint32_t width, std::uint32_t height, std::uint32_t tile_width = 0,
                      std::uint32_t tile_height = 0, std::uint16_t side_type = 4, bool pixels = true) {
  struct Field { std::uint16_t tag, type; std::uint32_t value; };
  const bool tiled = tile_width != 0;
  const std::uint32_t across = tiled ? (width + tile_width - 1) / tile_width : 1;
  const std::uint32_t down = tiled ? (height + tile_height - 1) / tile_height : 1;
  const std::uint32_t block_bytes = tiled ? tile_width * tile_height : width * height;
  std::vector<Field> fields = {{256, side_type, width}, {257, side_type, height}, {258, 3, 8}, {259, 3, 1}, {262, 3, 1},
                               {277, 3, 1}};
  const std::uint32_t entries = static_cast<std::uint32_t>(fields.size()) + (tiled ? 4 : 3);
  const std::uint32_t data_at = 8 + 2 + 12 * entries + 4;
  // One block only (the tests' images fit one tile): offsets and counts are inline values.
  if (across * down != 1) ADD_FAILURE() << "grey_tiff writes one strip or one tile";
  if (tiled) fields.insert(fields.end(), {{322, 4, tile_width}, {323, 4, tile_height}, {324, 4, data_at}, {325, 4, block_bytes}});
  else fields.insert(fields.end(), {{273, 4, data_at}, {278, 4, height}, {279, 4, block_bytes}});
  std::sort(fields.begin(), fields.end(), [](const Field& a, const Field& b) { return a.tag < b.tag; });
  std::string t("II*\0\x08\0\0\0", 8);
  auto put = [&](std::uint32_t v, int bytes) {
    for (int k = 0; k < bytes; ++k) t.push_back(static_cast<char>(v >> (8 * k)));
  };
  put(static_cast<std::uint32_t>(fields.size()), 2);
  for (const Field& f : fields) {
    put(f.tag, 2), put(f.type, 2), put(1, 4);
    if (f.type == 3 || f.type == 8) put(f.value, 2), put(0, 2);
    else put(f.value, 4);
  }
  put(0, 4);  // no next IFD
  return pixels ? t + std::string(block_bytes, '\x40') : t;
}
}  // namespace

// A TIFF's tile is decoded into a buffer of the tile's size, which may exceed the image's:
// a 16 x 16 image in 15008 x 15008 tiles made OpenCV fill 900 MB. Tiles over the pixel
// limit are refused from the header.
TEST(ImageDecode, TiffTilesOverThePixelLimitAreRefusedFromTheirHeader) {
  recap::test::TempDir dir;
  // The header alone: a 16 x 16 image in one 15008 x 15008 tile; no tile data is ever read.
  const std::string bomb = grey_tiff(16, 16, 15008, 15008, 4, false);
  recap::test::write_bytes(dir / "tiles.tif", bomb);
  const std::string message = message_of([&] { read_image(dir / "tiles.tif"); });
  EXPECT_EQ(message, (dir / "tiles.tif").string() + ": TIFF declares tiles of 15008 x 15008 pixels, more than the limit of "
                     "178956970 (a decompression bomb?); raise it with --max-image-pixels");
  const auto declared = declared_image_size(bomb);
  ASSERT_TRUE(declared.has_value());
  EXPECT_EQ(declared->width, 16u);
  EXPECT_EQ(declared->tile_width, 15008u);

  // The limit applies to the tile itself: a 20 x 10 image in one 32 x 16 tile passes at 512
  // pixels and is refused at 511, though the image has 200.
  const std::string tiled = grey_tiff(20, 10, 32, 16);
  set_max_image_pixels(32 * 16);
  EXPECT_EQ(message_of([&] { decode_image(tiled, "tiled.tif"); }).find("tiles of"), std::string::npos);
  set_max_image_pixels(32 * 16 - 1);
  EXPECT_NE(message_of([&] { decode_image(tiled, "tiled.tif"); }).find("tiled.tif: TIFF declares tiles of 32 x 16 pixels"),
            std::string::npos);
  set_max_image_pixels(kDefaultMaxImagePixels);
  const auto untiled = declared_image_size(grey_tiff(20, 10));
  ASSERT_TRUE(untiled.has_value());
  EXPECT_EQ(untiled->tile_width, 0u);
  // An untiled grey TIFF decodes (OpenCV's in-memory reader, which recap uses, fails on tiled ones).
  const DecodedImage strip = decode_image(grey_tiff(20, 10), "strip.tif");
  EXPECT_EQ(strip.width, 20);
  EXPECT_EQ(strip.height, 10);
  EXPECT_EQ(strip.pixels.at(0), 0x40);

  // Sides in the signed types libtiff also accepts are read, so they cannot slip past the limit.
  for (const std::uint16_t type : {3, 8, 9}) {
    const auto size = declared_image_size(grey_tiff(30000, 30000, 0, 0, type, false));
    ASSERT_TRUE(size.has_value()) << "type " << type;
    EXPECT_EQ(size->width, 30000u) << "type " << type;
    EXPECT_EQ(size->height, 30000u) << "type " << type;
  }
}

// Decompression bombs are refused from the header, before the pixels are allocated: JPEG
// and PNG by recap's own header checks, BMP, GIF, WebP, TIFF and PNM by their declared sizes.
TEST(ImageDecode, ImagesOverThePixelLimitAreRefusedFromTheirHeader) {
  recap::test::TempDir dir;
  const std::string jpeg = recap::test::read_bytes(golden_dir() / "images/synthetic_gray_wide.jpg");
  std::string png = recap::test::read_bytes(golden_dir() / "images/synthetic_rgba.png");
  png.replace(16, 8, big_endian(30000) + big_endian(30000));
  recap::test::write_bytes(dir / "bomb.jpg", with_jpeg_size(jpeg, 40000, 40000));
  recap::test::write_bytes(dir / "wide.jpg", with_jpeg_size(jpeg, 65000, 2800));  // 182M pixels, just past the limit
  recap::test::write_bytes(dir / "bomb.png", png);
  recap::test::write_bytes(dir / "bomb.bmp", bmp_header(20000, 20000));
  EXPECT_EQ(max_image_pixels(), 178956970);  // PIL's DecompressionBombError threshold
  // GIF's logical screen 65535 x 65535; WebP lossy 16383 x 16383 (VP8 frame header).
  recap::test::write_bytes(dir / "bomb.gif", std::string("GIF89a\xff\xff\xff\xff\x80\x00\x00", 13) + std::string(32, '\0'));
  std::string webp = "RIFF" + std::string("\x40\x00\x00\x00", 4) + "WEBPVP8 " + std::string("\x30\x00\x00\x00", 4) +
                     std::string("\x10\x02\x00\x9d\x01\x2a\xff\x3f\xff\x3f", 10) + std::string(38, '\0');
  recap::test::write_bytes(dir / "bomb.webp", webp);
  // The fuzzer's TIFF (tests/fuzz/findings): 55807 x 16389 in its first IFD, between entries
  // of unknown types; OpenCV sized a 3.6 GB buffer from it.
  recap::test::write_bytes(dir / "bomb.tif",
                           recap::test::read_bytes(recap::test::source_dir() / "tests/fuzz/findings/fuzz_image_decode-tiff-forged-size-oom"));
  recap::test::write_bytes(dir / "bomb.pgm", "P5\n# a comment\n40000 40000\n255\n" + std::string(64, '\x7f'));
  for (const char* name : {"bomb.jpg", "wide.jpg", "bomb.png", "bomb.bmp", "bomb.gif", "bomb.webp", "bomb.tif", "bomb.pgm"}) {
    const std::string message = message_of([&] { read_image(dir / name); });
    EXPECT_EQ(message.rfind((dir / name).string() + ": image declares ", 0), 0u) << message;
    EXPECT_NE(message.find("--max-image-pixels"), std::string::npos) << message;
  }

  // The sizes come from the headers as their formats define them.
  const auto bmp = declared_image_size(bmp_header(300, -200));  // negative height: top-down rows
  ASSERT_TRUE(bmp.has_value());
  EXPECT_EQ(bmp->width, 300u);
  EXPECT_EQ(bmp->height, 200u);
  const auto webp_size = declared_image_size(webp);
  ASSERT_TRUE(webp_size.has_value());
  EXPECT_EQ(webp_size->width, 16383u);
  EXPECT_FALSE(declared_image_size("\x89PNG\r\n\x1A\n too short").has_value());
  // TIFF in big-endian order: width 300 (SHORT), height 200 (LONG).
  const std::string tiff_be = std::string("MM\0*\0\0\0\x08\0\x02", 10) + std::string("\x01\x00\x00\x03\0\0\0\x01\x01\x2c\0\0", 12) +
                              std::string("\x01\x01\x00\x04\0\0\0\x01\0\0\0\xc8", 12);
  const auto tiff = declared_image_size(tiff_be);
  ASSERT_TRUE(tiff.has_value());
  EXPECT_EQ(tiff->width, 300u);
  EXPECT_EQ(tiff->height, 200u);

  // The limit is a setting: a real 320 x 240 image passes by default and is refused under 76,800 pixels.
  EXPECT_NO_THROW(read_image(golden_dir() / "images/synthetic_exif_rotate90.jpg"));
  set_max_image_pixels(320 * 240 - 1);
  EXPECT_NE(message_of([&] { read_image(golden_dir() / "images/synthetic_exif_rotate90.jpg"); }).find("320 x 240"),
            std::string::npos);
  set_max_image_pixels(kDefaultMaxImagePixels);
  EXPECT_THROW(set_max_image_pixels(0), recap::UsageError);
}

// Only the formats recap reads reach OpenCV: a DICOM-like file that made GDCM (behind
// OpenCV's DICOM decoder) abort the process is an input error (found by fuzz_image_decode).
TEST(ImageDecode, OtherFormatsNeverReachOpenCv) {
  const std::string dicom_like = "IH" + std::string(133, '\xff');
  EXPECT_NE(message_of([&] { decode_image(dicom_like, "x.dcm"); }).find("not JPEG, PNG, BMP, WebP, TIFF or PNM"),
            std::string::npos);
  for (const std::string& jp2 : {std::string("\0\0\0\x0CjP  \r\n\x87\n", 12), std::string("\xFF\x4F\xFF\x51", 4)})
    EXPECT_THROW(decode_image(jp2 + std::string(64, '\0'), "x.jp2"), recap::InputError);
  EXPECT_TRUE(is_supported_image_format("P6\n2 2\n255\n"));
  EXPECT_TRUE(is_supported_image_format(std::string("II*\0", 4)));
  EXPECT_FALSE(is_supported_image_format("GIF89a"));
  // A WebP header with DICOM's signature at byte 128: OpenCV would still hand it to GDCM.
  std::string webp_dicom = "RIFF" + std::string(4, '\x16') + "WEBPVP8L" + std::string(112, 'P') + "DICM" + "xxxx";
  EXPECT_FALSE(is_supported_image_format(webp_dicom));
  EXPECT_THROW(decode_image(webp_dicom, "x.webp"), recap::InputError);
}
