#include "recap/metrics/flickr8k_correlation.h"

#include <map>

#include "recap/common/error.h"
#include "recap/data/flickr8k.h"
#include "recap/embed/embed_subprocess.h"
#include "recap/io/npy.h"
#include "recap/io/temp_dir.h"
#include "recap/run/run.h"

namespace recap::metrics {
namespace {

// CLIP-S / RefCLIP-S (and the aligned pair with --run) per judgement, from the model.
void add_clip_scores(const Flickr8kCorrelationRequest& c, const std::vector<data::Judgement>& judgements,
                     std::map<std::string, std::vector<double>>& scores) {
  const io::TemporaryDirectory scratch("recap-correlate");
  const std::filesystem::path& dir = scratch.path();

  std::map<std::string, std::int64_t> image_row, text_row;
  std::vector<std::filesystem::path> image_files;
  std::vector<std::string> texts;
  auto text_index = [&](const std::string& caption) {
    auto [it, inserted] = text_row.emplace(caption, static_cast<std::int64_t>(texts.size()));
    if (inserted) texts.push_back(caption);
    return it->second;
  };
  for (const auto& j : judgements)
    if (image_row.emplace(j.image, static_cast<std::int64_t>(image_files.size())).second) {
      const auto path = std::filesystem::absolute(c.images / j.image);
      if (!std::filesystem::exists(path)) throw InputError(path.string() + ": image not found");
      image_files.push_back(path);
    }
  std::vector<std::int64_t> candidate_rows;
  std::vector<std::vector<std::int64_t>> reference_rows;
  for (const auto& j : judgements) {
    candidate_rows.push_back(text_index(j.caption));
    auto& refs = reference_rows.emplace_back();
    for (const auto& r : j.references) refs.push_back(text_index(r));
  }
  embed::EmbedSettings settings;
  settings.clip = c.clip.string();
  settings.threads = c.threads;
  settings.strict = true;  // every judged image must be scored
  embed::EmbedSubprocess text_embedder(settings);
  settings.no_cache = true;  // correlate has always left the image cache alone
  embed::EmbedSubprocess image_embedder(settings);
  const auto image_embeddings = io::read_npy_matrix(image_embedder.embed_images(image_files, dir, true).embeddings);
  const auto text_embeddings = io::read_npy_matrix(text_embedder.embed_texts(texts, c.prefix, dir, true));

  const auto n = static_cast<std::int64_t>(judgements.size());
  io::FloatMatrix image_side(n, image_embeddings.cols), candidates(n, text_embeddings.cols);
  for (std::int64_t i = 0; i < n; ++i) {
    const float* img = image_embeddings.row(image_row[judgements[i].image]);
    std::copy(img, img + image_side.cols, image_side.row(i));
    const float* cand = text_embeddings.row(candidate_rows[i]);
    std::copy(cand, cand + candidates.cols, candidates.row(i));
  }
  const auto plain = clip_scores(image_side, candidates, text_embeddings, reference_rows, c.clip_weight);
  scores["CLIP-S"] = plain.clip_s_per_image;
  scores["RefCLIP-S"] = plain.ref_clip_s_per_image;
  if (!c.run.empty()) {
    const auto aligned = clip_scores(run::Run::open(c.run).align(image_side), candidates, text_embeddings, reference_rows,
                                     c.clip_weight);
    scores["aCLIP-S"] = aligned.clip_s_per_image;
    scores["RefaCLIP-S"] = aligned.ref_clip_s_per_image;
  }
}

}  // namespace

Flickr8kCorrelation correlate_flickr8k(const Flickr8kCorrelationRequest& c) {
  const auto judgements = data::read_flickr8k(c.root, c.expert ? data::Flickr8kSet::expert : data::Flickr8kSet::crowdflower);
  auto scores = text_scores(judgements, false);
  if (!c.clip.empty()) {
    if (c.images.empty()) throw UsageError("correlate --clip needs --images (the Flickr8k image folder)");
    add_clip_scores(c, judgements, scores);
  } else if (!c.run.empty()) {
    throw UsageError("correlate --run needs --clip to embed images and captions");
  }
  return {judgements.size(), c.expert, correlate(scores, judgements, c.expert ? KendallVariant::c : KendallVariant::b)};
}

}  // namespace recap::metrics
