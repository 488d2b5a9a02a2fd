#pragma once
// Generation flags shared by recap-lm and recap-caption, with the resolution of
// "--decoding topk" / "nucleus" defaults. Header-only: the tools link recap_models already.
#include <CLI/CLI.hpp>
#include <string>

#include "cli_support.h"
#include "recap/common/error.h"
#include "recap/models/t5_model.h"

namespace recap::cli {

struct LmFlags {
  std::string decoding;  // empty: beam when --num-beams > 1, else greedy
  int max_new_tokens = 20;
  int min_new_tokens = 0;
  int num_beams = 1;
  double length_penalty = 1.0;
  bool early_stopping = false;
  double temperature = 1.0;
  int top_k = -1;     // unset: 50 for topk, 0 otherwise
  double top_p = -1;  // unset: 0.9 for nucleus, 1 otherwise
  double repetition_penalty = 1.0;
  int no_repeat_ngram_size = 0;
  std::uint64_t seed = 0;
  bool no_kv_cache = false;
};

inline void add_generation_options(CLI::App& app, LmFlags& f, bool with_beams_and_decoding = true) {
  if (with_beams_and_decoding) {
    app.add_option("--decoding", f.decoding,
                   "greedy, beam, sample (plain), topk (default k 50) or nucleus (default p 0.9); default: beam when "
                   "--num-beams > 1, else greedy")
        ->check(CLI::IsMember({"greedy", "beam", "sample", "topk", "nucleus"}));
    app.add_option("--num-beams", f.num_beams, "Beams for beam search")->check(cli::kPositive)->capture_default_str();
  }
  app.add_option("--max-new-tokens", f.max_new_tokens, "Tokens generated at most (after the decoder start token)")
      ->check(cli::kPositive)->capture_default_str();
  app.add_option("--min-new-tokens", f.min_new_tokens, "End-of-sequence forbidden before this many tokens")
      ->check(cli::kNonNegative)->capture_default_str();
  app.add_option("--length-penalty", f.length_penalty,
                 "Beam search: hypothesis score = sum log p / length ^ length_penalty (Hugging Face)")
      ->capture_default_str();
  app.add_flag("--early-stopping", f.early_stopping,
               "Beam search: stop once num_beams hypotheses finished (default: Hugging Face's heuristic)");
  app.add_option("--temperature", f.temperature, "Sampling temperature")->capture_default_str();
  app.add_option("--top-k", f.top_k, "Sampling: keep the k most likely tokens (0: all)")->check(cli::kNonNegative);
  app.add_option("--top-p", f.top_p, "Sampling: keep the smallest set of tokens with probability >= p")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--repetition-penalty", f.repetition_penalty, "Penalty on tokens already generated (1: off)")
      ->capture_default_str();
  app.add_option("--no-repeat-ngram-size", f.no_repeat_ngram_size, "Forbid repeating n-grams of this size (0: off)")
      ->check(cli::kNonNegative)->capture_default_str();
  app.add_option("--seed", f.seed, "Seed of sampling; each input has its own stream, so results do not depend on "
                                   "batching")->capture_default_str();
  app.add_flag("--no-kv-cache", f.no_kv_cache, "Recompute the decoder over the whole prefix every step (slow; for comparisons)");
}

// `sampling`: the decoding to use when the flags name none (recap-caption's samples).
inline models::GenerationOptions generation_options(const LmFlags& f, const std::string& decoding_name) {
  models::GenerationOptions o;
  const std::string name = decoding_name.empty() ? (f.num_beams > 1 ? "beam" : "greedy") : decoding_name;
  o.decoding = models::parse_decoding(name);
  o.max_new_tokens = f.max_new_tokens;
  o.min_new_tokens = f.min_new_tokens;
  o.num_beams = o.decoding == models::Decoding::beam ? f.num_beams : 1;
  o.length_penalty = f.length_penalty;
  o.early_stopping = f.early_stopping;
  o.temperature = f.temperature;
  o.top_k = f.top_k >= 0 ? f.top_k : (name == "topk" ? 50 : 0);
  o.top_p = f.top_p >= 0 ? f.top_p : (name == "nucleus" ? 0.9 : 1.0);
  o.repetition_penalty = f.repetition_penalty;
  o.no_repeat_ngram_size = f.no_repeat_ngram_size;
  o.seed = f.seed;
  o.use_cache = !f.no_kv_cache;
  if (name == "topk" && o.top_k == 0) throw UsageError("--decoding topk needs --top-k > 0");
  if (name == "nucleus" && o.top_p >= 1.0) throw UsageError("--decoding nucleus needs --top-p < 1");
  return o;
}

}  // namespace recap::cli
