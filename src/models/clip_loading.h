#pragma once
// Reading CLIP weights in any of the common layouts (a Hugging Face folder, an OpenAI
// TorchScript archive, OpenAI-keyed safetensors) into OpenAI-named tensors and the
// architecture they imply. Private to src/models: ClipModel::load drives it.
#include <filesystem>
#include <string>

#include "clip_modules.h"
#include "recap/models/clip_model.h"
#include "recap/vision/preprocess.h"
#include "state_dict.h"

namespace recap::models::detail {

struct ClipWeights {
  StateDict state;  // OpenAI's names, float32 on the CPU
  ClipConfig config;
  std::string layout;  // ClipInfo::layout: "hf-folder", "openai-torchscript" or "openai-safetensors"
  vision::PreprocessConfig preprocess;
  std::filesystem::path tokenizer_dir;  // where a tokenizer beside the weights would be
};

// Throws InputError naming `path` for a missing or unknown format and for weights whose
// shapes imply no CLIP (e.g. heads that do not divide the width).
ClipWeights read_clip_weights(const std::filesystem::path& path, const ClipLoadOptions& options);

// Copies `state` into the module's parameters and buffers (moving where it can); one
// InputError lists the missing, unexpected and mis-shaped names.
void load_state(Clip& model, StateDict& state, const std::string& source);

// Digest of the weights' values, dtype and architecture (ClipInfo::fingerprint).
std::string fingerprint_of(Clip& model, Precision precision, Device device);

}  // namespace recap::models::detail
