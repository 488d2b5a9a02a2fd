// The LM captioner is built into recap_models because it drives CLIP and T5; it includes
// no torch headers itself.
#include "recap/caption/lm_captioner.h"

#include <algorithm>

#include "recap/common/error.h"
#include "recap/common/seed_mix.h"
#include "recap/common/stopwatch.h"
#include "recap/embed/embed_pipeline.h"

namespace recap::caption {

LmCaptionOptions LmCaptionOptions::resolved() const {
  LmCaptionOptions o = *this;
  o.beam.decoding = models::Decoding::beam;
  o.beam.num_beams = std::max(1, candidate_beams);
  o.beam.num_return_sequences = std::max(1, candidate_beams);
  o.sample.decoding = models::Decoding::sample;
  o.sample.num_return_sequences = std::max(1, candidate_samples);
  return o;
}

void LmCaptionOptions::validate() const {
  if (k < 1) throw UsageError("k (retrieved captions per image) must be at least 1, got " + std::to_string(k));
  check_prompt_template(prompt_template);
  if (candidate_beams < 0 || candidate_samples < 0) throw UsageError("candidate counts cannot be negative");
  if (candidate_beams + candidate_samples < 1) {
    throw UsageError("no candidates requested (M = 0): set candidate beams and/or candidate samples to at least 1");
  }
  const auto r = resolved();
  if (candidate_beams > 0) r.beam.validate();
  if (candidate_samples > 0) r.sample.validate();
}

LmCaptioner::LmCaptioner(const retrieval::Datastore& store, const models::ClipModel& clip, const models::T5Model& lm,
                         LmCaptionOptions options)
    : store_(store), clip_(clip), lm_(lm), options_(options.resolved()) {
  options_.validate();
  store_.check_k(options_.k);
}

nlohmann::json LmCaptioner::settings() const {
  const auto& b = options_.beam;
  const auto& s = options_.sample;
  nlohmann::json settings = {{"k", options_.k},
          {"prompt_template", options_.prompt_template},
          {"separator", options_.separator},
          {"candidate_beams", options_.candidate_beams},
          {"candidate_samples", options_.candidate_samples},
          {"generation",
           {{"max_new_tokens", b.max_new_tokens}, {"min_new_tokens", b.min_new_tokens},
            {"length_penalty", b.length_penalty}, {"early_stopping", b.early_stopping},
            {"temperature", s.temperature}, {"top_k", s.top_k},
            {"top_p", s.top_p}, {"repetition_penalty", s.repetition_penalty},
            {"no_repeat_ngram_size", s.no_repeat_ngram_size}, {"seed", s.seed},
            {"max_input_tokens", options_.max_input_tokens}}}};
  // Only when set, so that runs resumed from before the option existed keep their settings.
  if (options_.random_choice) settings["candidate_choice"] = "random";
  if (auto search = store_.search_settings(options_.search); !search.is_null()) settings["search"] = search;
  return settings;
}

std::vector<std::vector<Retrieved>> LmCaptioner::retrieve(const CaptionBatch& batch) const {
  return caption::retrieve(store_, batch, options_.k, options_.search);
}

std::vector<nlohmann::json> LmCaptioner::caption(const CaptionBatch& batch) const {
  const auto& mapped = batch.aligned;
  const auto& ids = batch.ids;
  const auto& positions = batch.positions;
  const auto n = static_cast<std::size_t>(mapped.rows);
  if (ids.size() != n || positions.size() != n) throw Error(ExitCode::internal, "caption: ids/positions/rows differ");
  if (n == 0) return {};
  const auto lists = retrieve(batch);

  std::vector<std::string> prompts;
  for (const auto& list : lists) {
    std::vector<std::string> captions;
    for (const auto& r : list) captions.push_back(store_.caption(r.index));
    prompts.push_back(build_prompt(options_.prompt_template, captions, options_.separator));
  }

  std::vector<std::vector<Candidate>> candidates(n);
  const auto& tok = lm_.tokenizer();
  const auto eos = lm_.info().eos_token_id;
  // Beams and samples from one encoding of the prompts. All images are sampled in one
  // pass: the decoder reads its weights once per step for every row instead of once per
  // image. Each image's samples still follow its own position in the input (its seed
  // offset), so batching and resuming do not change them.
  std::vector<models::GenerationOptions> decodings;
  std::vector<std::pair<const char*, int>> sources;  // per decoding: candidate source, rows per image
  if (options_.candidate_beams > 0) {
    decodings.push_back(options_.beam);
    sources.emplace_back("beam", options_.candidate_beams);
  }
  if (options_.candidate_samples > 0) {
    auto o = options_.sample;
    o.seed_offsets.assign(positions.begin(), positions.end());
    decodings.push_back(std::move(o));
    sources.emplace_back("sample", options_.candidate_samples);
  }
  Stopwatch clock;
  const auto generated = lm_.generate(prompts, decodings, options_.max_input_tokens);
  times_.add("generate", clock.seconds());
  for (std::size_t g = 0; g < generated.size(); ++g) {
    const auto& [source, per_image] = sources[g];
    const auto& rows = generated[g].sequences;
    for (std::int64_t r = 0; r < rows.rows; ++r)
      candidates[r / per_image].push_back({tok.decode(rows.until_eos(r, eos)), source, 0});
  }

  // Every image's distinct candidates embedded in one CLIP pass.
  std::vector<std::string> texts;
  for (auto& c : candidates) {
    c = dedupe_candidates(c);
    // An LM that only produced empty text still leaves the image a caption: the best retrieved one.
    for (const auto& x : c) texts.push_back(x.text);
  }
  embed::EmbedOptions embed;
  embed.normalize = true;
  embed.use_cache = false;  // candidates are one-off texts
  clock.restart();
  const io::FloatMatrix emb = texts.empty() ? io::FloatMatrix(0, mapped.cols) : embed::embed_texts(clip_, texts, embed);
  times_.add("score candidates", clock.seconds());
  if (!texts.empty() && emb.cols != mapped.cols) {
    throw InputError("CLIP text embeddings have dimension " + std::to_string(emb.cols) + " but the mapped image "
                     "embeddings have " + std::to_string(mapped.cols) + "; use the CLIP model the run was fitted with");
  }

  std::vector<nlohmann::json> records;
  std::int64_t row = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const nlohmann::json retrieved = retrieved_json(lists[i], store_);
    nlohmann::json cands = nlohmann::json::array();
    for (auto& c : candidates[i]) {
      double dot = 0;
      for (std::int64_t d = 0; d < mapped.cols; ++d) dot += double(emb.row(row)[d]) * mapped.row(static_cast<std::int64_t>(i))[d];
      c.score = static_cast<float>(dot);
      ++row;
      cands.push_back({{"text", c.text}, {"source", c.source}, {"score", c.score}});
    }
    nlohmann::json record = {{"image_id", ids[i]}, {"prompt", prompts[i]}, {"retrieved", retrieved}, {"candidates", cands}};
    if (!candidates[i].empty()) {
      const auto best = options_.random_choice
                            ? static_cast<std::size_t>(mix_seed(options_.sample.seed, static_cast<std::uint64_t>(positions[i])) %
                                                          candidates[i].size())
                            : best_candidate(candidates[i]);
      record["caption"] = candidates[i][best].text;
      record["score"] = candidates[i][best].score;
      record["chosen"] = best;
    } else {
      record["caption"] = store_.caption(lists[i].front().index);
      record["score"] = lists[i].front().similarity;
      record["chosen"] = -1;
      record["fallback"] = "the language model produced no non-empty candidate; best retrieved caption used";
    }
    records.push_back(std::move(record));
  }
  return records;
}

}  // namespace recap::caption
