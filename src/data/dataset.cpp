#include "recap/data/dataset.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "recap/common/error.h"
#include "recap/data/captions.h"
#include "recap/io/json_file.h"

namespace fs = std::filesystem;

namespace recap::data {
namespace {

bool blank(const std::string& text) { return text.find_first_not_of(" \t\n\r\f\v") == std::string::npos; }

const nlohmann::json& field(const nlohmann::json& object, const char* key, const std::string& where) {
  if (!object.is_object() || !object.contains(key)) throw InputError(where + ": no \"" + key + "\"");
  return object[key];
}

std::string text_field(const nlohmann::json& object, const char* key, const std::string& where) {
  const auto& value = field(object, key, where);
  if (!value.is_string() || value.get<std::string>().empty())
    throw InputError(where + ": \"" + key + "\" is not a non-empty string");
  return value.get<std::string>();
}

std::string key_of(const nlohmann::json& id, const std::string& where) {
  try {
    return id_key(id);
  } catch (const InputError& e) {
    throw InputError(where + ": " + e.what());
  }
}

// Adds a caption to `sample`, or counts it as left out when it holds no text.
void add_caption(Dataset& dataset, Sample& sample, std::string caption) {
  if (blank(caption))
    ++dataset.empty_captions;
  else
    sample.captions.push_back(std::move(caption));
}

std::string joined(const std::set<std::string>& names) {
  std::string text;
  for (const auto& n : names) text += (text.empty() ? "" : ", ") + n;
  return text.empty() ? "none" : text;
}

void read_karpathy(const nlohmann::json& doc, const std::string& name, const fs::path& root,
                   const std::vector<std::string>& splits, Dataset& dataset) {
  dataset.format = "karpathy";
  const std::set<std::string> wanted(splits.begin(), splits.end());
  std::map<std::string, std::size_t> per_split;
  std::set<std::string> ids, present;
  const auto& images = doc["images"];
  for (std::size_t i = 0; i < images.size(); ++i) {
    const auto& image = images[i];
    std::string where = name + ": images[" + std::to_string(i) + "]";
    const std::string split = text_field(image, "split", where);
    present.insert(split);
    if (!wanted.count(split)) continue;
    ++per_split[split];
    const std::string filename = text_field(image, "filename", where);
    where += " (" + filename + ")";
    Sample sample;
    sample.media = image.contains("filepath") ? root / text_field(image, "filepath", where) / filename : root / filename;
    sample.id = image.contains("cocoid") ? key_of(image["cocoid"], where) : fs::path(filename).stem().string();
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
  // A misspelt split ("resval") must not quietly shrink the training set.
  for (const auto& split : wanted)
    if (per_split[split] == 0)
      throw InputError(name + ": no images in split '" + split + "' (the file has: " + joined(present) + ")");
}

void read_coco(const nlohmann::json& doc, const std::string& name, const fs::path& root, Dataset& dataset) {
  dataset.format = "coco";
  const auto& images = field(doc, "images", name);
  if (!images.is_array()) throw InputError(name + ": \"images\" is not a list (the image file names are needed)");
  std::map<std::string, std::size_t> row_of;
  for (std::size_t i = 0; i < images.size(); ++i) {
    const std::string where = name + ": images[" + std::to_string(i) + "]";
    Sample sample;
    sample.id = key_of(field(images[i], "id", where), where);
    sample.media = root / text_field(images[i], "file_name", where);
    if (!row_of.emplace(sample.id, dataset.samples.size()).second)
      throw InputError(where + ": image id " + sample.id + " appears more than once");
    dataset.samples.push_back(std::move(sample));
  }
  dataset.listed_images = dataset.samples.size();
  const auto& annotations = doc["annotations"];
  if (!annotations.is_array()) throw InputError(name + ": \"annotations\" is not a list");
  for (std::size_t i = 0; i < annotations.size(); ++i) {
    const std::string where = name + ": annotations[" + std::to_string(i) + "]";
    const std::string id = key_of(field(annotations[i], "image_id", where), where);
    const auto it = row_of.find(id);
    if (it == row_of.end()) throw InputError(where + ": image_id " + id + " is not in \"images\"");
    add_caption(dataset, dataset.samples[it->second], caption_text(field(annotations[i], "caption", where), where));
  }
}

// Leaves out images without captions, then insists that every remaining file exists:
// finding a wrong root after hours of embedding would waste them.
void finish(Dataset& dataset, const std::string& name, const fs::path& root) {
  std::vector<Sample> kept;
  for (auto& s : dataset.samples) {
    if (s.captions.empty())
      ++dataset.images_without_captions;
    else
      kept.push_back(std::move(s));
  }
  dataset.samples = std::move(kept);
  if (dataset.samples.empty()) throw InputError(name + ": no image has a caption");
  std::size_t missing = 0;
  const Sample* first = nullptr;
  for (const auto& s : dataset.samples) {
    std::error_code ec;
    if (!fs::is_regular_file(s.media, ec)) {
      if (!first) first = &s;
      ++missing;
    }
  }
  if (missing > 0)
    throw InputError(name + ": image " + first->id + ": " + first->media.string() + " does not exist (" +
                     std::to_string(missing) + " of " + std::to_string(dataset.samples.size()) +
                     " image files missing under " + root.string() + ")");
}

}  // namespace

std::vector<std::string> parse_split_list(const std::string& list) {
  std::vector<std::string> splits;
  std::stringstream in(list);
  for (std::string item; std::getline(in, item, ',');) {
    const auto first = item.find_first_not_of(" \t"), last = item.find_last_not_of(" \t");
    if (first == std::string::npos) continue;
    item = item.substr(first, last - first + 1);
    if (std::find(splits.begin(), splits.end(), item) == splits.end()) splits.push_back(item);
  }
  return splits;
}

Dataset read_dataset(const fs::path& file, const fs::path& media_root, const std::vector<std::string>& splits) {
  const std::string name = file.string();
  const nlohmann::json doc = io::read_json(file);
  Dataset dataset;
  if (doc.is_object() && doc.contains("annotations")) {
    if (!splits.empty())
      throw UsageError(name + ": COCO annotations hold one split already; splits apply to Karpathy split files");
    read_coco(doc, name, media_root, dataset);
  } else if (doc.is_object() && doc.contains("images") && doc["images"].is_array()) {
    if (splits.empty())
      throw UsageError(name + ": a Karpathy split file mixes training and test images: choose splits (e.g. train,restval)");
    read_karpathy(doc, name, media_root, splits, dataset);
  } else {
    throw InputError(name + ": not a Karpathy split file ({\"images\": [{\"filename\", \"sentences\", ...}]}) or COCO "
                     "annotations ({\"images\": [...], \"annotations\": [...]})");
  }
  finish(dataset, name, media_root);
  return dataset;
}

}  // namespace recap::data
