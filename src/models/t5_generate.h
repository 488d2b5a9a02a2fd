#pragma once
// Decoding loops over the T5 modules: greedy, beam search (Hugging Face's algorithm and
// scores), sampling with temperature / top-k / top-p. Private to src/models.
#include <vector>

#include "recap/models/t5_model.h"
#include "t5_modules.h"

namespace recap::models::detail {

struct DecodeResult {
  std::vector<std::vector<std::int64_t>> sequences;  // decoder start first; unpadded, end-of-sequence included when reached
  std::vector<float> scores;
};

// `states`: the encoder's output [B, L, D] for `mask` [B, L] (may be undefined), on the
// model's device. One encoding serves any number of decodings.
DecodeResult run_decoding(T5& net, const torch::Tensor& states, const torch::Tensor& mask, const GenerationOptions& options);

}  // namespace recap::models::detail
