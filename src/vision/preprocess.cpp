// CLIP's preprocessing: PIL bicubic resize of the shortest side, centre crop, RGB, normalise.
#include "recap/vision/preprocess.h"

#include <cfenv>
#include <cmath>
#include <cstdio>
#include <vector>

#include "recap/common/error.h"
#include "recap/io/json_file.h"
#include "recap/vision/resample.h"

namespace recap::vision {
namespace {

// Python's round(): half to even (nearbyint in the default rounding mode).
int python_round(double v) { return static_cast<int>(std::nearbyint(v)); }

int json_size(const nlohmann::json& value, const char* key, const std::filesystem::path& path) {
  if (value.is_number_integer()) return value.get<int>();
  if (value.is_object()) {
    for (const char* k : {"shortest_edge", "height", "width"}) {
      if (value.contains(k) && value[k].is_number_integer()) return value[k].get<int>();
    }
  }
  throw InputError(path.string() + ": \"" + key + "\" is not a size");
}

}  // namespace

PreprocessConfig PreprocessConfig::openai(int resolution) {
  PreprocessConfig config;
  config.resize = resolution;
  config.crop = resolution;
  return config;
}

PreprocessConfig PreprocessConfig::from_hf_json(const std::filesystem::path& path) {
  const auto j = io::read_json(path);
  PreprocessConfig config;
  config.crop_offset = CropOffset::floor;
  config.convert_rgb_first = j.value("do_convert_rgb", true);
  if (j.contains("size")) config.resize = json_size(j["size"], "size", path);
  config.crop = j.contains("crop_size") ? json_size(j["crop_size"], "crop_size", path) : config.resize;
  if (!j.value("do_center_crop", true)) config.crop = config.resize;
  if (j.contains("resample") && j["resample"] != 3) {
    throw InputError(path.string() + ": resample " + j["resample"].dump() + " is not bicubic (3), the only one supported");
  }
  auto triple = [&](const char* key, std::array<float, 3>& out) {
    if (!j.contains(key)) return;
    const auto& v = j[key];
    if (!v.is_array() || v.size() != 3) throw InputError(path.string() + ": \"" + key + "\" must hold 3 numbers");
    for (int c = 0; c < 3; ++c) out[c] = v[c].get<float>();
  };
  triple("image_mean", config.mean);
  triple("image_std", config.std);
  if (!j.value("do_normalize", true)) config.mean = {0, 0, 0}, config.std = {1, 1, 1};
  if (config.resize <= 0 || config.crop <= 0 || config.crop > config.resize) {
    throw InputError(path.string() + ": sizes must satisfy 0 < crop <= shortest edge");
  }
  return config;
}

std::string PreprocessConfig::fingerprint() const {
  char buffer[256];
  std::snprintf(buffer, sizeof buffer, "pil-bicubic r%d c%d m%.8g,%.8g,%.8g s%.8g,%.8g,%.8g %s%s", resize, crop,
                mean[0], mean[1], mean[2], std[0], std[1], std[2],
                crop_offset == CropOffset::floor ? "floor" : "round", convert_rgb_first ? " rgb-first" : "");
  return buffer;
}

void preprocess(const DecodedImage& image, const PreprocessConfig& config, float* out) {
  if (image.width <= 0 || image.height <= 0) throw InputError("empty image");
  // Resize: shortest side to `resize`, long side int(resize * long / short).
  int new_w, new_h;
  if (image.width <= image.height) {
    new_w = config.resize;
    new_h = static_cast<int>(static_cast<double>(config.resize) * image.height / image.width);
  } else {
    new_h = config.resize;
    new_w = static_cast<int>(static_cast<double>(config.resize) * image.width / image.height);
  }
  const int crop = config.crop;
  ResizeWindow window;
  window.width = window.height = crop;
  if (config.crop_offset == PreprocessConfig::CropOffset::python_round) {
    window.x0 = python_round((new_w - crop) / 2.0);
    window.y0 = python_round((new_h - crop) / 2.0);
  } else {
    window.x0 = (new_w - crop) / 2;
    window.y0 = (new_h - crop) / 2;
  }
  if (new_w < crop || new_h < crop) throw InputError("image too small for the crop");

  // Hugging Face drops alpha before resizing; PIL itself resizes RGBA premultiplied.
  const std::uint8_t* pixels = image.pixels.data();
  int channels = image.channels;
  std::vector<std::uint8_t> staged;
  const bool premultiply = channels == 4 && !config.convert_rgb_first && !image.nearest_resize;
  if (channels == 4 && (config.convert_rgb_first || image.nearest_resize)) {
    // Alpha is ignored: drop it up front.
    staged.resize(static_cast<std::size_t>(image.width) * image.height * 3);
    for (std::size_t i = 0, n = static_cast<std::size_t>(image.width) * image.height; i < n; ++i) {
      for (int c = 0; c < 3; ++c) staged[i * 3 + c] = pixels[i * 4 + c];
    }
    pixels = staged.data();
    channels = 3;
  } else if (premultiply) {
    // PIL's RGBA -> RGBa: c * a / 255 rounded (MULDIV255).
    staged.assign(pixels, pixels + image.pixels.size());
    for (std::size_t i = 0; i < staged.size(); i += 4) {
      const unsigned a = staged[i + 3];
      for (int c = 0; c < 3; ++c) {
        const unsigned t = staged[i + c] * a + 128;
        staged[i + c] = static_cast<std::uint8_t>(((t >> 8) + t) >> 8);
      }
    }
    pixels = staged.data();
  }
  std::vector<std::uint8_t> resized(static_cast<std::size_t>(crop) * crop * channels);
  resize_window(pixels, image.width, image.height, channels, new_w, new_h, window,
                image.nearest_resize ? ResampleFilter::nearest : ResampleFilter::bicubic, resized.data());

  // ToTensor + Normalize in float32, as torchvision computes them.
  const std::size_t plane = static_cast<std::size_t>(crop) * crop;
  float lut[3][256];
  for (int c = 0; c < 3; ++c) {
    for (int v = 0; v < 256; ++v) lut[c][v] = (static_cast<float>(v) / 255.0f - config.mean[c]) / config.std[c];
  }
  for (std::size_t i = 0; i < plane; ++i) {
    const std::uint8_t* p = resized.data() + i * channels;
    std::uint8_t rgb[3];
    if (channels == 1) {
      rgb[0] = rgb[1] = rgb[2] = p[0];
    } else if (premultiply) {
      // RGBa -> RGBA: 255 * c / a truncated, unchanged where a is 0 or 255; then drop alpha.
      const unsigned a = p[3];
      for (int c = 0; c < 3; ++c) {
        rgb[c] = (a == 0 || a == 255) ? p[c] : static_cast<std::uint8_t>(std::min(255u, 255u * p[c] / a));
      }
    } else {
      rgb[0] = p[0], rgb[1] = p[1], rgb[2] = p[2];
    }
    for (int c = 0; c < 3; ++c) out[c * plane + i] = lut[c][rgb[c]];
  }
}

void preprocess_file(const std::filesystem::path& path, const PreprocessConfig& config, float* out) {
  const DecodedImage image = read_image(path);
  try {
    preprocess(image, config, out);
  } catch (const InputError& e) {
    throw InputError(path.string() + ": " + e.what());
  }
}

}  // namespace recap::vision
