#pragma once
// Training a small CLIP from scratch on the demo world (recap/demo/world.h): a ViT and a
// text transformer with OpenAI's architecture and initialisation, trained with CLIP's
// symmetric contrastive loss on an endless stream of freshly drawn scenes paired with
// their "web" captions (alt-text style, unlike the dataset's fluent captions: the gap the
// linear map has to bridge). Saved as a Hugging Face CLIPModel folder that
// models::ClipModel loads like any downloaded CLIP. Deterministic from the seed on one
// machine with a fixed thread count.
#include <cstdint>
#include <filesystem>

#include "recap/train/training_log.h"

namespace recap::train {

struct ClipTrainingOptions {
  std::uint64_t seed = 0;
  int image_size = 64;
  int patch_size = 8;
  int vision_width = 96, vision_layers = 3, vision_heads = 4;  // wider than embed_dim, as every CLIP: full-rank embeddings
  int text_width = 64, text_layers = 3, text_heads = 4;
  int embed_dim = 64;
  int context_length = 32;
  int steps = 1500;
  int batch_size = 128;
  int warmup_steps = 100;
  double learning_rate = 1e-3;
  double weight_decay = 0.1;
  int log_every = 50;

  nlohmann::json to_json() const;
};

// Trains and writes config.json, model.safetensors and preprocessor_config.json into
// `folder`, which must already hold the tokenizer (vocab.json + merges.txt).
TrainingLog train_clip(const std::filesystem::path& folder, const ClipTrainingOptions& options,
                       const ProgressCallback& progress = {});

}  // namespace recap::train
