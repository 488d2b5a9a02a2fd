#pragma once
// The demo's two models, trained from a seed by `recap-demo train`: a tokenizer and a
// small CLIP learned on the demo world's web-style captions, then a small T5 taught to
// turn ReCap's prompt (the captions retrieved for an image with the trained CLIP and a
// fitted W) into a dataset-style caption of that image. Output layout:
//   FOLDER/clip/  Hugging Face CLIPModel folder (with vocab.json, merges.txt)
//   FOLDER/t5/    Hugging Face T5 folder (with spiece.model)
//   FOLDER/training.json  every option, the losses, the times, the modality gap
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include "recap/train/clip_training.h"
#include "recap/train/t5_training.h"

namespace recap::train {

struct DemoModelOptions {
  std::uint64_t seed = 0;
  int bpe_merges = 800;           // CLIP's BPE vocabulary: 512 byte symbols + merges + 2 specials
  int sentencepiece_vocab = 256;  // T5's vocabulary
  int corpus_scenes = 20000;      // scenes whose captions the tokenizers learn from
  ClipTrainingOptions clip;
  // T5's training prompts: `t5_pool` scenes of their own stream, each prompting with the
  // `k` captions of other scenes nearest to its mapped image embedding.
  int t5_pool = 3000;
  int k = 4;
  std::string prompt_template = "Similar images show: {captions} This image shows:";
  std::string separator = " ";
  T5TrainingOptions t5;
  int threads = 0;  // LibTorch threads; <= 0: all cores

  nlohmann::json to_json() const;
};

struct DemoModelsReport {
  TrainingLog clip, t5;
  nlohmann::json modality_gap;  // on the T5 pool: see metrics::modality_gap
  double seconds = 0;
};

// Called with a stage name ("tokenizers", "clip", "t5 prompts", "t5") and a message.
using StageCallback = std::function<void(const std::string&, const std::string&)>;

// Trains both models into `folder` (built under a temporary name, renamed into place at
// the end; an existing folder is replaced only with `force`, see io::StagingDirectory).
DemoModelsReport train_demo_models(const std::filesystem::path& folder, const DemoModelOptions& options, bool force,
                                   const StageCallback& report = {});

}  // namespace recap::train
