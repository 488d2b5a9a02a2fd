#pragma once
// One draw from one row of logits with Hugging Face's warpers (temperature, then top-k,
// then top-p), private to src/models and free of LibTorch so that it can be tested alone.
#include <cstdint>
#include <random>
#include <vector>

namespace recap::models::detail {

struct SamplingWarpers {
  double temperature = 1.0;
  int top_k = 0;       // 0: off
  double top_p = 1.0;  // 1: off
};

// The ids a draw can return, in no particular order: those left by top-k (everything
// scoring below the k-th best goes; ties with it stay), then the smallest set of best ids
// (score descending, ties to the lower id, as a stable sort gives) whose probability
// reaches top_p, at least one. `p` gets exp(score - max) for every id of the row.
std::vector<std::int64_t> sampling_support(const float* logits, std::int64_t vocab, const SamplingWarpers& w,
                                           std::vector<double>& p);

// A draw from the renormalised probabilities of the support; writes its log-probability.
std::int64_t sample_token(const float* logits, std::int64_t vocab, const SamplingWarpers& w, std::mt19937_64& rng,
                          float* logprob);

}  // namespace recap::models::detail
