// Karpathy split files, COCO annotations and VizWiz-Captions (COCO's layout with
// rejected / pre-canned flags): see dataset.h.
#include <map>

#include "dataset_formats.h"
#include "recap/common/error.h"
#include "recap/data/captions.h"

namespace fs = std::filesystem;

namespace recap::data::formats {
namespace {

// VizWiz marks captions a crowd worker could not give ("Quality issues are too severe to
// recognize visual content.") as pre-canned, and captions that failed review as rejected.
bool flagged(const nlohmann::json& annotation, const char* key, const std::string& where) {
  if (!annotation.contains(key)) return false;
  const auto& value = annotation[key];
  if (!value.is_boolean() && !value.is_number_integer()) throw InputError(where + ": \"" + key + "\" is not a boolean");
  return value.is_boolean() ? value.get<bool>() : value.get<long long>() != 0;
}

}  // namespace

void read_karpathy(const nlohmann::json& doc, const ReadContext& context, Dataset& dataset) {
  const std::set<std::string> wanted(context.options.splits.begin(), context.options.splits.end());
  std::set<std::string> ids, present, found;
  const auto& images = doc["images"];
  for (std::size_t i = 0; i < images.size(); ++i) {
    const auto& image = images[i];
    std::string where = context.name + ": images[" + std::to_string(i) + "]";
    const std::string split = text_field(image, "split", where);
    present.insert(split);
    if (!wanted.count(split)) continue;
    found.insert(split);
    const std::string filename = text_field(image, "filename", where);
    where += " (" + filename + ")";
    Sample sample;
    sample.media = image.contains("filepath") ? context.media_root / text_field(image, "filepath", where) / filename
                                              : context.media_root / filename;
    sample.id = image.contains("cocoid") ? id_field(image, "cocoid", where) : fs::path(filename).stem().string();
    if (!ids.insert(sample.id).second) throw InputError(where + ": image id " + sample.id + " appears more than once");
    const auto& sentences = field(image, "sentences", where);
    if (!sentences.is_array()) throw InputError(where + ": \"sentences\" is not a list");
    for (std::size_t j = 0; j < sentences.size(); ++j) {
      const std::string at = where + ": sentence " + std::to_string(j);
      add_caption(dataset, sample, caption_text(field(sentences[j], "raw", at), at));
    }
    ++dataset.listed_images;
    dataset.samples.push_back(std::move(sample));
  }
  check_splits_found(context, found, present);
}

void read_coco(const nlohmann::json& doc, const ReadContext& context, Dataset& dataset) {
  const auto& images = field(doc, "images", context.name);
  if (!images.is_array()) throw InputError(context.name + ": \"images\" is not a list (the image file names are needed)");
  std::map<std::string, std::size_t> row_of;
  for (std::size_t i = 0; i < images.size(); ++i) {
    const std::string where = context.name + ": images[" + std::to_string(i) + "]";
    Sample sample;
    sample.id = id_field(images[i], "id", where);
    sample.media = context.media_root / text_field(images[i], "file_name", where);
    if (!row_of.emplace(sample.id, dataset.samples.size()).second)
      throw InputError(where + ": image id " + sample.id + " appears more than once");
    dataset.samples.push_back(std::move(sample));
  }
  dataset.listed_images = dataset.samples.size();
  // COCO's image info files and VizWiz's test file list images without annotations.
  if (!doc.contains("annotations")) return;
  const auto& annotations = doc["annotations"];
  if (!annotations.is_array()) throw InputError(context.name + ": \"annotations\" is not a list");
  for (std::size_t i = 0; i < annotations.size(); ++i) {
    const std::string where = context.name + ": annotations[" + std::to_string(i) + "]";
    const std::string id = id_field(annotations[i], "image_id", where);
    const auto it = row_of.find(id);
    if (it == row_of.end()) throw InputError(where + ": image_id " + id + " is not in \"images\"");
    const std::string caption = caption_text(field(annotations[i], "caption", where), where);
    const bool rejected = flagged(annotations[i], "is_rejected", where), precanned = flagged(annotations[i], "is_precanned", where);
    if ((rejected || precanned) && !context.options.keep_rejected) {
      ++dataset.rejected_captions;
      continue;
    }
    add_caption(dataset, dataset.samples[it->second], caption);
  }
}

}  // namespace recap::data::formats
