#include "recap/metrics/scoring.h"

#include <algorithm>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <tuple>

#include "recap/common/error.h"
#include "recap/metrics/clip_score.h"

namespace recap::metrics {

const std::vector<std::string>& metric_names() {
  static const std::vector<std::string> names = {"bleu",   "rouge",     "cider",   "meteor",    "spice",
                                                 "clip-s", "refclip-s", "aclip-s", "refaclip-s"};
  return names;
}

MetricSet MetricSet::parse(const std::string& list) {
  MetricSet set;
  std::stringstream in(list);
  for (std::string m; std::getline(in, m, ',');) {
    if (m.empty()) continue;
    const auto& all = metric_names();
    if (std::find(all.begin(), all.end(), m) == all.end())
      throw UsageError("unknown metric '" + m + "' (choose from bleu, rouge, cider, meteor, spice, clip-s, refclip-s, "
                       "aclip-s, refaclip-s)");
    set.names.insert(m);
  }
  return set;
}

std::vector<std::string> score_names(const std::string& metric) {
  if (metric == "bleu") return {"Bleu_1", "Bleu_2", "Bleu_3", "Bleu_4"};
  if (metric == "rouge") return {"ROUGE_L"};
  if (metric == "cider") return {"CIDEr"};
  if (metric == "meteor") return {"METEOR"};
  if (metric == "spice") return {"SPICE"};
  if (metric == "clip-s") return {"CLIP-S"};
  if (metric == "refclip-s") return {"RefCLIP-S"};
  if (metric == "aclip-s") return {"aCLIP-S"};
  if (metric == "refaclip-s") return {"RefaCLIP-S"};
  throw UsageError("unknown metric '" + metric + "'");
}

const Score* Scores::find(const std::string& name) const {
  for (const auto& s : scores)
    if (s.name == name) return &s;
  return nullptr;
}

Scores compute_scores(const MetricSet& wanted, const ScoringInputs& in) {
  const auto& images = *in.images;
  Scores out;
  auto& scores = out.scores;
  std::optional<EncodedCorpus> encoded;
  if (wanted.has("bleu") || wanted.has("cider")) encoded.emplace(images);
  if (wanted.has("bleu")) {
    auto stats = std::make_shared<std::vector<BleuStats>>(bleu_stats(*encoded));
    const auto b = bleu_scores(*stats);
    const auto names = score_names("bleu");
    for (int n = 0; n < 4; ++n)
      scores.push_back({names[n], b[n].corpus, b[n].per_image,
                        [stats, n](const std::vector<std::size_t>& rows) { return corpus_bleu(*stats, rows)[n]; },
                        std::nullopt});
  }
  if (wanted.has("rouge")) {
    const auto r = rouge_l(images);
    scores.push_back({score_names("rouge")[0], r.corpus, r.per_image, {}, std::nullopt});
  }
  if (wanted.has("cider")) {
    const auto c = cider_d(*encoded);
    scores.push_back({score_names("cider")[0], c.corpus, c.per_image, {}, std::nullopt});
  }
  for (const auto& [metric, options, fn] :
       {std::tuple{"meteor", &in.meteor, &meteor}, std::tuple{"spice", &in.spice, &spice}}) {
    if (!wanted.has(metric)) continue;
    const auto key = score_names(metric)[0];
    const auto s = fn(images, in.image_names, *options);
    if (s.available) scores.push_back({key, s.score.corpus, s.score.per_image, {}, std::nullopt});
    else out.unavailable[key] = s.reason;
  }

  if (wanted.needs_clip()) {
    if (in.clip == nullptr) throw Error(ExitCode::internal, "compute_scores: CLIP metrics without embeddings");
    const auto& clip = *in.clip;
    auto add = [&](const std::string& metric, const std::string& ref_metric, const io::FloatMatrix& image_side) {
      const auto s = clip_scores(image_side, clip.candidates, clip.references, clip.reference_rows, in.clip_weight);
      if (wanted.has(metric)) scores.push_back({score_names(metric)[0], s.clip_s, s.clip_s_per_image, {}, std::nullopt});
      if (s.has_ref && wanted.has(ref_metric))
        scores.push_back({score_names(ref_metric)[0], s.ref_clip_s, s.ref_clip_s_per_image, {}, std::nullopt});
    };
    if (wanted.plain_clip()) add("clip-s", "refclip-s", clip.images);
    if (wanted.aligned_clip()) {
      if (in.aligned_images == nullptr) throw Error(ExitCode::internal, "compute_scores: aligned metrics without W");
      add("aclip-s", "refaclip-s", *in.aligned_images);
    }
  }
  return out;
}

std::vector<ImageCaptions> pair_with_references(const std::vector<data::CaptionResult>& results,
                                                const data::ReferenceSet& refs, bool tokenize,
                                                const std::string& results_name, const std::string& refs_name) {
  std::vector<ImageCaptions> images;
  for (const auto& r : results) {
    auto it = refs.captions.find(r.key);
    if (it == refs.captions.end())
      throw InputError(results_name + ": image id " + r.key + " has no references in " + refs_name);
    if (it->second.empty()) throw InputError(refs_name + ": image " + r.key + " has no reference captions");
    images.push_back({r.caption, it->second});
  }
  if (tokenize) {
    try {
      ptb_tokenize_captions(images);
    } catch (const std::invalid_argument& e) {
      throw InputError(results_name + " / " + refs_name + ": " + e.what());
    }
  }
  return images;
}

void add_bootstrap_intervals(Scores& scores, std::size_t images, int resamples, std::uint32_t seed) {
  std::vector<ResampledScore> fns;
  for (auto& s : scores.scores) fns.push_back(s.resample ? s.resample : mean_of(s.per_image));
  const auto intervals = bootstrap_intervals(images, resamples, seed, fns);
  for (std::size_t i = 0; i < scores.scores.size(); ++i) scores.scores[i].interval = intervals[i];
}

}  // namespace recap::metrics
