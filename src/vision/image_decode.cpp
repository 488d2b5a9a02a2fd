// Image decoding with OpenCV, shaped as PIL would hand the image to CLIP's transform.
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

// libjpeg after the C++ headers: jpeglib.h needs size_t and FILE declared first.
#include <cstdio>
#include <jpeglib.h>

#include <algorithm>
#include <atomic>
#include <csetjmp>
#include <cstdlib>
#include <mutex>
#include <cctype>

#include "recap/common/error.h"
#include "recap/io/json_file.h"
#include "recap/vision/image.h"
#include "recap/vision/image_header.h"

namespace recap::vision {
namespace {

std::atomic<std::int64_t> g_max_pixels{kDefaultMaxImagePixels};

// OpenCV reads OPENCV_IO_MAX_IMAGE_PIXELS once, at its first decode: set it before then.
void cap_opencv_decoders(std::int64_t limit) {
  ::setenv("OPENCV_IO_MAX_IMAGE_PIXELS", std::to_string(limit).c_str(), 1);
}
std::once_flag g_opencv_capped;

// `what` names the area: the image, or a TIFF's tile, which is decoded into a buffer of its
// own size whatever the image's, so a tile over the limit is refused like an image over it.
void check_pixel_count(std::uint64_t width, std::uint64_t height, const std::string& name,
                       const char* what = "image declares") {
  const auto limit = static_cast<std::uint64_t>(g_max_pixels.load());
  if (width != 0 && height > limit / width)
    throw InputError(name + ": " + what + " " + std::to_string(width) + " x " + std::to_string(height) +
                     " pixels, more than the limit of " + std::to_string(limit) +
                     " (a decompression bomb?); raise it with --max-image-pixels");
}

bool starts_with(const std::string& bytes, std::string_view magic) {
  return bytes.size() >= magic.size() && std::equal(magic.begin(), magic.end(), bytes.begin());
}

// A JPEG whose entropy-coded data is cut short still decodes in libjpeg (grey rows and a
// warning); PIL refuses it. Complete files have an end-of-image marker after the last
// start-of-scan (an EXIF thumbnail's own markers come before it).
bool jpeg_is_complete(const std::string& bytes) {
  std::size_t last_sos = std::string::npos, last_eoi = std::string::npos;
  for (std::size_t i = 2; i + 1 < bytes.size(); ++i) {
    if (static_cast<unsigned char>(bytes[i]) != 0xFF) continue;
    const auto marker = static_cast<unsigned char>(bytes[i + 1]);
    if (marker == 0xDA) last_sos = i;
    if (marker == 0xD9) last_eoi = i;
  }
  return last_sos != std::string::npos && last_eoi != std::string::npos && last_eoi > last_sos;
}

// PNG colour type 3 (palette) and 1-bit greyscale open in PIL as modes "P" and "1",
// which Image.resize samples with NEAREST whatever filter is asked for.
bool png_is_palette_or_bilevel(const std::string& bytes) {
  if (bytes.size() < 26) return false;
  const auto bit_depth = static_cast<unsigned char>(bytes[24]);
  const auto colour_type = static_cast<unsigned char>(bytes[25]);
  return colour_type == 3 || (colour_type == 0 && bit_depth == 1);
}

// PNG ends with an IEND chunk; libpng gives up on a truncated file, but check anyway.
bool png_is_complete(const std::string& bytes) {
  return bytes.size() >= 12 && bytes.compare(bytes.size() - 8, 4, "IEND") == 0;
}

// libjpeg reports fatal errors through error_exit, which must not return: jump back to
// decode_jpeg with the message kept. Warnings (corrupt but decodable data) are ignored,
// as OpenCV and PIL ignore them.
struct JpegErrors {
  jpeg_error_mgr manager;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

[[noreturn]] void jpeg_fail(j_common_ptr cinfo) {
  auto* errors = reinterpret_cast<JpegErrors*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, errors->message);
  std::longjmp(errors->jump, 1);
}

void jpeg_ignore_warning(j_common_ptr, int) {}

// Baseline and progressive JPEGs in YCbCr, RGB or grey, decoded straight to RGB / grey by
// libjpeg-turbo with its default settings (islow DCT, fancy upsampling), which is what PIL
// does; going through OpenCV decoded to BGR, converted back to RGB and copied twice more
// (a third of the preprocessing time). Returns false for CMYK/YCCK files, which are left
// to OpenCV. `image` is the caller's so that nothing local to this frame changes between
// setjmp and longjmp.
bool decode_jpeg(const std::string& bytes, const std::string& name, DecodedImage& image) {
  jpeg_decompress_struct cinfo;
  JpegErrors errors;
  cinfo.err = jpeg_std_error(&errors.manager);
  errors.manager.error_exit = jpeg_fail;
  errors.manager.emit_message = jpeg_ignore_warning;
  if (setjmp(errors.jump)) {
    jpeg_destroy_decompress(&cinfo);
    throw InputError(name + ": cannot decode JPEG (" + errors.message + ")");
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<unsigned long>(bytes.size()));
  jpeg_read_header(&cinfo, TRUE);
  try {
    check_pixel_count(cinfo.image_width, cinfo.image_height, name);
  } catch (...) {
    jpeg_destroy_decompress(&cinfo);
    throw;
  }
  const J_COLOR_SPACE space = cinfo.jpeg_color_space;
  if (space != JCS_YCbCr && space != JCS_RGB && space != JCS_GRAYSCALE) {
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  cinfo.out_color_space = space == JCS_GRAYSCALE ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_start_decompress(&cinfo);
  image.width = static_cast<int>(cinfo.output_width);
  image.height = static_cast<int>(cinfo.output_height);
  image.channels = cinfo.output_components;
  image.nearest_resize = false;
  const std::size_t stride = static_cast<std::size_t>(image.width) * image.channels;
  image.pixels.resize(stride * image.height);
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = image.pixels.data() + stride * cinfo.output_scanline;
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  return true;
}

}  // namespace

DecodedImage decode_image(const std::string& bytes, const std::string& name) {
  if (bytes.empty()) throw InputError(name + ": empty file");
  const bool is_jpeg = starts_with(bytes, "\xFF\xD8\xFF");
  const bool is_png = starts_with(bytes, "\x89PNG\r\n\x1A\n");
  if (is_jpeg && !jpeg_is_complete(bytes)) throw InputError(name + ": truncated JPEG (no end-of-image marker)");
  if (is_jpeg) {
    DecodedImage image;
    if (decode_jpeg(bytes, name, image)) return image;
  }
  if (is_png && !png_is_complete(bytes)) throw InputError(name + ": truncated PNG (no IEND chunk)");
  if (const auto declared = declared_image_size(bytes)) {
    check_pixel_count(declared->width, declared->height, name);
    check_pixel_count(declared->tile_width, declared->tile_height, name, "TIFF declares tiles of");
  }
  if (!is_supported_image_format(bytes))
    throw InputError(name + ": cannot decode image (not JPEG, PNG, BMP, WebP, TIFF or PNM)");
  std::call_once(g_opencv_capped, [] { cap_opencv_decoders(g_max_pixels.load()); });
  cv::Mat encoded(1, static_cast<int>(bytes.size()), CV_8U, const_cast<char*>(bytes.data()));
  cv::Mat mat;
  try {
    mat = cv::imdecode(encoded, cv::IMREAD_UNCHANGED | cv::IMREAD_IGNORE_ORIENTATION);
  } catch (const cv::Exception& e) {
    throw InputError(name + ": cannot decode image (" + e.err + ")");
  }
  if (!mat.empty()) check_pixel_count(mat.cols, mat.rows, name);  // whatever the format's header said
  if (mat.empty() || mat.cols <= 0 || mat.rows <= 0) {
    throw InputError(name + ": cannot decode image (unknown format or corrupt data)");
  }
  // 16-bit and float images: scaled to 8 bits as OpenCV's IMREAD_COLOR would.
  if (mat.depth() == CV_16U) mat.convertTo(mat, CV_8U, 1.0 / 256.0);
  else if (mat.depth() != CV_8U) mat.convertTo(mat, CV_8U, mat.depth() == CV_32F || mat.depth() == CV_64F ? 255.0 : 1.0);
  cv::Mat rgb;
  switch (mat.channels()) {
    case 1: rgb = mat; break;
    case 2: cv::extractChannel(mat, rgb, 0); break;  // grey + alpha: alpha is dropped
    case 3: cv::cvtColor(mat, rgb, cv::COLOR_BGR2RGB); break;
    case 4: cv::cvtColor(mat, rgb, cv::COLOR_BGRA2RGBA); break;
    default: throw InputError(name + ": unsupported channel count " + std::to_string(mat.channels()));
  }
  if (!rgb.isContinuous()) rgb = rgb.clone();
  DecodedImage image;
  image.width = rgb.cols;
  image.height = rgb.rows;
  image.channels = rgb.channels();
  image.nearest_resize = is_png && png_is_palette_or_bilevel(bytes);
  image.pixels.assign(rgb.data, rgb.data + rgb.total() * rgb.elemSize());
  return image;
}

void set_max_image_pixels(std::int64_t limit) {
  if (limit <= 0) throw UsageError("--max-image-pixels must be positive");
  g_max_pixels = limit;
  cap_opencv_decoders(limit);
}

std::int64_t max_image_pixels() { return g_max_pixels.load(); }

DecodedImage read_image(const std::filesystem::path& path) {
  return decode_image(io::read_file(path), path.string());
}

bool has_image_extension(const std::filesystem::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const char* known : {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".ppm", ".pgm", ".jpe"}) {
    if (ext == known) return true;
  }
  return false;
}

}  // namespace recap::vision
