#pragma once
// Training a small T5 (FLAN-T5's architecture: gated GELU, relative position buckets,
// its own output head) from scratch on (prompt, caption) pairs with teacher forcing and
// cross-entropy, and saving it as a Hugging Face T5ForConditionalGeneration folder that
// models::T5Model loads like a downloaded FLAN-T5. Deterministic from the seed on one
// machine with a fixed thread count.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "recap/train/training_log.h"

namespace recap::train {

struct T5TrainingOptions {
  std::uint64_t seed = 0;
  int d_model = 64, d_kv = 16, d_ff = 128, num_heads = 4;
  int encoder_layers = 2, decoder_layers = 2;
  int steps = 1500;
  int batch_size = 32;
  int warmup_steps = 100;
  double learning_rate = 3e-3;
  double weight_decay = 0.01;
  int max_input_tokens = 160;
  int max_target_tokens = 32;
  int log_every = 50;

  nlohmann::json to_json() const;
};

struct Seq2SeqExample {
  std::string input;   // the prompt
  std::string target;  // the caption to produce
};

// Trains on `examples` (drawn at random, with replacement, from the seed) and writes
// config.json, model.safetensors and tokenizer_config.json into `folder`, which must
// already hold the sentencepiece model (spiece.model) the vocabulary comes from.
TrainingLog train_t5(const std::filesystem::path& folder, const std::vector<Seq2SeqExample>& examples,
                     const T5TrainingOptions& options, const ProgressCallback& progress = {});

}  // namespace recap::train
