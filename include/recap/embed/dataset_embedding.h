#pragma once
// recap-fit --clip --dataset: turns a captioning dataset into exactly the inputs the
// precomputed-embeddings path takes (image rows = the images, text rows = all their
// captions, pairs = (image row, caption row) for every caption, datastore = the
// captions), embedded with recap-embed into a scratch folder.
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "recap/data/dataset.h"
#include "recap/embed/embed_subprocess.h"

namespace recap::embed {

struct DatasetRequest {
  std::filesystem::path dataset;      // any format data::read_dataset reads
  std::filesystem::path images_root;  // media paths in the file are relative to it
  data::DatasetOptions options;       // format, splits, ...
  bool normalize = true;              // L2-normalised embeddings (recap-embed --normalize)
  bool strict = false;                // gaps in the data are errors, not warnings
};

struct EmbeddedDataset {
  std::filesystem::path image_embeddings, text_embeddings, pairs;  // in the scratch folder
  std::vector<nlohmann::json> captions;  // datastore records {"caption", "image_id"}, one per text row
  // Per text row: its sample's position in the whole dataset and its own among the
  // sample's captions, so that shards' datastores merge back into the whole's order.
  std::vector<std::int64_t> caption_order;  // rows x 2
  nlohmann::json provenance;             // dataset, splits, CLIP model, counts (for run.json / mapping.json)
};

// Reads the dataset (InputError / UsageError as data::read_dataset), embeds its images and
// then the captions of the images that could be read.
EmbeddedDataset embed_dataset(const DatasetRequest& request, EmbedSubprocess& embedder,
                              const std::filesystem::path& scratch);

}  // namespace recap::embed
