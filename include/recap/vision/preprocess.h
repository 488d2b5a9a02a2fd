#pragma once
// CLIP's image preprocessing, to the reference tensor:
//   Resize(size, BICUBIC) -> CenterCrop(crop) -> convert("RGB") -> ToTensor -> Normalize
// The shortest side becomes `size`, the long side int(size * long / short); the crop
// offsets are int(round((len - crop) / 2)) with Python's round (OpenAI) or floor division
// (Hugging Face's CLIPImageProcessor). RGBA is resized with premultiplied alpha as PIL
// does, then alpha is dropped; grey is expanded to three channels.
#include <array>
#include <filesystem>
#include <string>

#include "recap/vision/image.h"

namespace recap::vision {

struct PreprocessConfig {
  int resize = 224;  // shortest side after resizing
  int crop = 224;    // square centre crop
  std::array<float, 3> mean{0.48145466f, 0.4578275f, 0.40821073f};
  std::array<float, 3> std{0.26862954f, 0.26130258f, 0.27577711f};
  enum class CropOffset { python_round, floor } crop_offset = CropOffset::python_round;
  bool convert_rgb_first = false;  // Hugging Face converts to RGB before resizing

  // OpenAI's _transform(n_px).
  static PreprocessConfig openai(int resolution);
  // A Hugging Face preprocessor_config.json (CLIPImageProcessor).
  static PreprocessConfig from_hf_json(const std::filesystem::path& path);
  // Everything that changes the output tensor, for cache keys and provenance.
  std::string fingerprint() const;
};

// Writes 3 x crop x crop float32 (channel-major) into `out`.
void preprocess(const DecodedImage& image, const PreprocessConfig& config, float* out);
// read_image + preprocess.
void preprocess_file(const std::filesystem::path& path, const PreprocessConfig& config, float* out);

}  // namespace recap::vision
