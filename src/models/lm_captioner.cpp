// The LM captioner lives in recap_models because it drives CLIP and T5; it includes no
// torch headers itself.
#include "recap/caption/lm_captioner.h"

#include "recap/common/error.h"
#include "recap/models/embed_pipeline.h"

namespace recap::caption {

void LmCaptionOptions::validate() const {
  if (k < 1) throw UsageError("k (retrieved captions per image) must be at least 1, got " + std::to_string(k));
  check_prompt_template(prompt_template);
  if (candidate_beams < 0 || candidate_samples < 0) throw UsageError("candidate counts cannot be negative");
  if (candidate_beams + candidate_samples < 1) {
    throw UsageError("no candidates requested (M = 0): set candidate beams and/or candidate samples to at least 1");
  }
  if (candidate_beams > 0) beam.validate();
  if (candidate_samples > 0) sample.validate();
}

LmCaptioner::LmCaptioner(const retrieval::Datastore& store, const models::ClipModel& clip, const models::T5Model& lm,
                         LmCaptionOptions options)
    : store_(store), clip_(clip), lm_(lm), options_(std::move(options)) {
  options_.validate();
  options_.beam.decoding = models::Decoding::beam;
  options_.beam.num_beams = options_.candidate_beams;
  options_.beam.num_return_sequences = options_.candidate_beams;
  options_.sample.decoding = models::Decoding::sample;
  options_.sample.num_return_sequences = options_.candidate_samples;
  if (options_.k > store_.size()) {
    throw UsageError("k = " + std::to_string(options_.k) + " is larger than the datastore (" +
                     std::to_string(store_.size()) + " captions)");
  }
}

std::vector<nlohmann::json> LmCaptioner::caption(const io::FloatMatrix& mapped, const std::vector<nlohmann::json>& ids,
                                                 const std::vector<std::int64_t>& positions) const {
  const auto n = static_cast<std::size_t>(mapped.rows);
  if (ids.size() != n || positions.size() != n) throw Error(ExitCode::internal, "caption: ids/positions/rows differ");
  if (n == 0) return {};
  const auto lists = retrieve(store_, mapped, options_.k, options_.search);

  std::vector<std::string> prompts;
  for (const auto& list : lists) {
    std::vector<std::string> captions;
    for (const auto& r : list) captions.push_back(store_.caption(r.index));
    prompts.push_back(build_prompt(options_.prompt_template, captions, options_.separator));
  }

  std::vector<std::vector<Candidate>> candidates(n);
  const auto& tok = lm_.tokenizer();
  const auto eos = lm_.info().eos_token_id;
  if (options_.candidate_beams > 0) {
    const auto g = lm_.generate(prompts, options_.beam, options_.max_input_tokens);
    for (std::int64_t r = 0; r < g.sequences.rows; ++r)
      candidates[r / options_.candidate_beams].push_back({tok.decode(g.sequences.until_eos(r, eos)), "beam", 0});
  }
  if (options_.candidate_samples > 0) {
    // One call per image so that each image's samples follow its own position in the input.
    for (std::size_t i = 0; i < n; ++i) {
      auto o = options_.sample;
      o.seed_offset = static_cast<std::uint64_t>(positions[i]);
      const auto g = lm_.generate(std::vector<std::string>{prompts[i]}, o, options_.max_input_tokens);
      for (std::int64_t r = 0; r < g.sequences.rows; ++r)
        candidates[i].push_back({tok.decode(g.sequences.until_eos(r, eos)), "sample", 0});
    }
  }

  // Every image's distinct candidates embedded in one CLIP pass.
  std::vector<std::string> texts;
  for (auto& c : candidates) {
    c = dedupe_candidates(c);
    // An LM that only produced empty text still leaves the image a caption: the best retrieved one.
    for (const auto& x : c) texts.push_back(x.text);
  }
  models::EmbedOptions embed;
  embed.normalize = true;
  embed.use_cache = false;  // candidates are one-off texts
  const io::FloatMatrix emb = texts.empty() ? io::FloatMatrix(0, mapped.cols) : models::embed_texts(clip_, texts, embed);
  if (!texts.empty() && emb.cols != mapped.cols) {
    throw InputError("CLIP text embeddings have dimension " + std::to_string(emb.cols) + " but the mapped image "
                     "embeddings have " + std::to_string(mapped.cols) + "; use the CLIP model the run was fitted with");
  }

  std::vector<nlohmann::json> records;
  std::int64_t row = 0;
  for (std::size_t i = 0; i < n; ++i) {
    nlohmann::json retrieved = nlohmann::json::array();
    for (const auto& r : lists[i])
      retrieved.push_back({{"index", r.index}, {"caption", store_.caption(r.index)}, {"similarity", r.similarity}});
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
      const auto best = best_candidate(candidates[i]);
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
