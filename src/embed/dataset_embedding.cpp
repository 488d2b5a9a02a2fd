#include "recap/embed/dataset_embedding.h"

#include <cstdint>

#include "recap/common/messages.h"
#include "recap/data/dataset.h"
#include "recap/io/npy.h"
#include "recap/io/provenance.h"

namespace fs = std::filesystem;

namespace recap::embed {

EmbeddedDataset embed_dataset(const DatasetRequest& request, EmbedSubprocess& embedder, const fs::path& scratch) {
  const auto dataset = data::read_dataset(request.dataset, request.images_root, request.options);
  const std::string name = request.dataset.string();
  if (dataset.empty_captions > 0)
    warn_or_fail(request.strict, name + ": " + std::to_string(dataset.empty_captions) +
                                     " empty caption(s) left out");
  if (dataset.rejected_captions > 0)
    note(name + ": " + std::to_string(dataset.rejected_captions) + " rejected or pre-canned caption(s) left out");
  if (dataset.images_without_captions > 0)
    warn_or_fail(request.strict, name + ": " + std::to_string(dataset.images_without_captions) +
                                     " image(s) without captions left out");

  std::vector<fs::path> files;
  for (const auto& s : dataset.samples) files.push_back(s.media);
  const Shard& shard = request.options.shard;
  note("embedding " + std::to_string(files.size()) + " images with recap-embed" +
       (shard.whole() ? std::string()
                      : " (shard " + shard.label() + ": " + std::to_string(dataset.outside_shard) +
                            " images belong to the other shards)"));
  const auto images = embedder.embed_images(files, scratch, request.normalize);

  // Captions follow the images that were embedded: an unreadable image takes its captions
  // out of the pairs and the datastore (recap-embed has named each such file).
  EmbeddedDataset out;
  std::vector<std::string> texts;
  std::vector<std::int64_t> pairs;
  std::size_t dropped_captions = 0;
  for (std::size_t row = 0, next = 0; next < dataset.samples.size(); ++next) {
    const auto& sample = dataset.samples[next];
    if (row >= images.kept.size() || images.kept[row] != next) {
      dropped_captions += sample.captions.size();
      continue;
    }
    for (std::size_t c = 0; c < sample.captions.size(); ++c) {
      const auto& caption = sample.captions[c];
      out.caption_order.insert(out.caption_order.end(), {static_cast<std::int64_t>(sample.position), static_cast<std::int64_t>(c)});
      pairs.insert(pairs.end(), {static_cast<std::int64_t>(row), static_cast<std::int64_t>(texts.size())});
      out.captions.push_back({{"caption", caption}, {"image_id", sample.id}});
      texts.push_back(caption);
    }
    ++row;
  }
  const std::size_t unreadable = dataset.samples.size() - images.kept.size();
  if (unreadable > 0)
    warn_or_fail(request.strict, std::to_string(unreadable) + " of " + std::to_string(dataset.samples.size()) +
                                     " images could not be read; their " + std::to_string(dropped_captions) +
                                     " caption(s) are left out of the fit");
  note("embedding " + std::to_string(texts.size()) + " captions with recap-embed");
  out.text_embeddings = embedder.embed_texts(texts, "", scratch, request.normalize);
  out.image_embeddings = images.embeddings;
  out.pairs = scratch / "pairs.npy";
  io::write_npy(out.pairs, pairs.data(), {static_cast<std::int64_t>(pairs.size() / 2), 2});

  const auto& wanted = request.options.splits;
  const nlohmann::json splits = wanted.empty() ? nlohmann::json(nullptr) : nlohmann::json(wanted);
  out.provenance = {
      {"dataset", io::describe_file(request.dataset)},
      {"format", dataset.format},
      {"splits", splits},
      {"images_root", fs::absolute(request.images_root).string()},
      {"shard", shard.label()},
      {"counts",
       {{"listed_images", dataset.listed_images},
        {"images", images.kept.size()},
        {"captions", texts.size()},
        {"empty_captions_left_out", dataset.empty_captions},
        {"rejected_captions_left_out", dataset.rejected_captions},
        {"images_without_captions", dataset.images_without_captions},
        {"images_in_other_shards", dataset.outside_shard},
        {"unreadable_images", unreadable}}}};
  return out;
}

}  // namespace recap::embed
