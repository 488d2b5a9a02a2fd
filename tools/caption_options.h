#pragma once
// The captioning flags recap-caption and recap-dal share (k, the prompt, the candidates
// and their decoding, the search kernel), and the models they load. Header-only: both
// tools link recap_models.
#include <CLI/CLI.hpp>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "cli_support.h"
#include "lm_options.h"
#include "recap/caption/lm_captioner.h"
#include "recap/caption/retrieval_captioner.h"
#include "recap/models/clip_model.h"
#include "recap/models/t5_model.h"
#include "recap/run/run.h"

namespace recap::cli {

struct CaptionFlags {
  std::int64_t k = 8;
  caption::LmCaptionOptions lm;
  LmFlags generation;
  std::string sampling = "nucleus";
  std::string candidate_choice = "aligned";
  std::string search_kernel = "auto";
  bool exact = false;                     // ignore the run's FAISS index
  std::int64_t nprobe = 0, ef_search = 0;  // override the index's stored settings
  std::string device = "cpu", dtype = "float32";

  CaptionFlags() {
    lm.candidate_beams = 4;
    lm.candidate_samples = 36;
    generation.max_new_tokens = 30;
    generation.top_p = 0.9;
  }
};

inline void add_caption_options(CLI::App& app, CaptionFlags& f) {
  app.add_option("--k", f.k, "Captions retrieved per image (and put in the prompt)")->check(kPositive)->capture_default_str();
  app.add_option("--prompt-template", f.lm.prompt_template, "Prompt; {captions} is replaced by the retrieved captions")
      ->capture_default_str();
  app.add_option("--separator", f.lm.separator, "Text between retrieved captions in the prompt")->capture_default_str();
  app.add_option("--candidate-beams", f.lm.candidate_beams, "Candidates from beam search (beam width = this; 0: none)")
      ->check(kNonNegative)->capture_default_str();
  app.add_option("--candidate-samples", f.lm.candidate_samples, "Candidates from sampling (0: none)")
      ->check(kNonNegative)->capture_default_str();
  app.add_option("--candidate-choice", f.candidate_choice,
                 "aligned: keep the candidate closest to the aligned image embedding (ReCap); random: one at random "
                 "(seeded; an ablation that shows what the choice is worth)")
      ->check(CLI::IsMember({"aligned", "random"}))->capture_default_str();
  app.add_option("--sampling", f.sampling, "How candidates are sampled: sample, topk or nucleus")
      ->check(CLI::IsMember({"sample", "topk", "nucleus"}))->capture_default_str();
  add_generation_options(app, f.generation, /*with_beams_and_decoding=*/false);
  app.add_option("--max-input-tokens", f.lm.max_input_tokens, "Prompts are truncated to this many tokens")
      ->check(kPositive)->capture_default_str();
  app.add_option("--search-kernel", f.search_kernel,
                 "Exact search kernel: auto (bf16 screening where the CPU has AMX/AVX-512 BF16, else fp32), fp32, bf16; "
                 "all return the same captions")
      ->check(CLI::IsMember({"auto", "fp32", "bf16"}))->capture_default_str();
  app.add_flag("--exact", f.exact, "Search exactly even when the run has a FAISS index (recap-index)");
  app.add_option("--nprobe", f.nprobe, "With a run's IVF index: cells visited per query (default: the index's, see "
                                       "RUN/index/index.json; more is slower and recalls more)")
      ->check(kPositive);
  app.add_option("--ef-search", f.ef_search, "With a run's HNSW index: the graph walk's candidate list (default: the "
                                             "index's; more is slower and recalls more)")
      ->check(kPositive);
}

inline retrieval::SearchOptions search_options(const CaptionFlags& f, int threads) {
  retrieval::SearchOptions search;
  search.kernel = retrieval::parse_search_kernel(f.search_kernel);
  search.threads = threads;
  if (f.exact && (f.nprobe > 0 || f.ef_search > 0)) throw UsageError("--exact searches without the index: drop --nprobe / --ef-search");
  search.exact = f.exact;
  search.nprobe = f.nprobe;
  search.ef_search = f.ef_search;
  return search;
}

// The LM captioner's options from the flags, checked (UsageError) before any model loads.
inline caption::LmCaptionOptions lm_caption_options(const CaptionFlags& f, int threads) {
  caption::LmCaptionOptions o = f.lm;
  o.k = f.k;
  o.random_choice = f.candidate_choice == "random";
  o.beam = generation_options(f.generation, "beam");
  o.sample = generation_options(f.generation, f.sampling);
  o.search = search_options(f, threads);
  o.validate();
  return o;
}

inline models::ClipModel load_clip(const std::filesystem::path& path, const CaptionFlags& f, int threads,
                                   const run::Run& run) {
  models::ClipLoadOptions o;
  o.device = models::parse_device(f.device);
  o.precision = models::parse_precision(f.dtype);
  o.threads = threads;
  auto clip = models::ClipModel::load(path, o);
  if (clip.info().embed_dim != run.text_dim())
    throw InputError(path.string() + ": CLIP embeds in " + std::to_string(clip.info().embed_dim) +
                     " dimensions but the run's mapping expects " + std::to_string(run.image_dim()) + " -> " +
                     std::to_string(run.text_dim()));
  return clip;
}

inline models::T5Model load_lm(const std::filesystem::path& path, const CaptionFlags& f, int threads, bool verbose) {
  models::T5LoadOptions o;
  o.device = models::parse_device(f.device);
  o.precision = models::parse_precision(f.dtype);
  o.threads = threads;
  auto lm = models::T5Model::load(path, o);
  if (verbose) note(lm.info().describe());
  return lm;
}

}  // namespace recap::cli
