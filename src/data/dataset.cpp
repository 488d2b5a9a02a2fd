#include "recap/data/dataset.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "dataset_formats.h"
#include "recap/common/error.h"
#include "recap/data/captions.h"
#include "recap/io/json_file.h"

namespace fs = std::filesystem;

namespace recap::data {
namespace formats {

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

std::string id_field(const nlohmann::json& object, const char* key, const std::string& where) {
  try {
    return id_key(field(object, key, where));
  } catch (const InputError& e) {
    const std::string message = e.what();
    throw InputError(message.rfind(where, 0) == 0 ? message : where + ": " + message);
  }
}

void add_caption(Dataset& dataset, Sample& sample, std::string caption) {
  if (caption.find_first_not_of(" \t\n\r\f\v") == std::string::npos)
    ++dataset.empty_captions;
  else
    sample.captions.push_back(std::move(caption));
}

std::string joined(const std::set<std::string>& names) {
  std::string text;
  for (const auto& n : names) text += (text.empty() ? "" : ", ") + n;
  return text.empty() ? "none" : text;
}

void check_splits_found(const ReadContext& context, const std::set<std::string>& found,
                        const std::set<std::string>& available) {
  for (const auto& split : context.options.splits)
    if (!found.count(split))
      throw InputError(context.name + ": no images in split '" + split + "' (the file has: " + joined(available) + ")");
}

}  // namespace formats

namespace {

bool has(const nlohmann::json& list, const char* key) {
  return list.is_array() && !list.empty() && list[0].is_object() && list[0].contains(key);
}

}  // namespace

std::string json_dataset_format(const nlohmann::json& doc) {
  if (!doc.is_object()) return "";
  if (doc.contains("videos") && doc.contains("sentences")) return "msrvtt";
  const nlohmann::json none;
  const auto& images = doc.contains("images") ? doc["images"] : none;
  if (doc.contains("annotations")) {
    const auto& annotations = doc["annotations"];
    if (has(annotations, "is_rejected") || has(annotations, "is_precanned") || has(images, "text_detected"))
      return "vizwiz";
    return "coco";
  }
  if (!images.is_array()) return "";
  if (has(images, "sentences") || has(images, "split")) return "karpathy";
  // An image list without captions: VizWiz's test file, or COCO's image info.
  if (has(images, "text_detected")) return "vizwiz";
  if (has(images, "file_name")) return "coco";
  return "";
}

namespace {

// A Flickr8k token line: "<image>#<k>\t<caption>".
bool flickr8k_token_file(const fs::path& path) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line) && line.find_first_not_of(" \r") == std::string::npos) {
  }
  static const std::regex token(R"(^[^\t#]+#\d+\t)");
  return std::regex_search(line, token);
}

std::string detect(const fs::path& source, nlohmann::json& doc) {
  const std::string name = source.string();
  std::error_code ec;
  if (fs::is_directory(source, ec)) {
    for (const auto& token : {source / "Flickr8k.token.txt", source / "Flickr8k_text" / "Flickr8k.token.txt"})
      if (fs::is_regular_file(token, ec)) return "flickr8k";
    return "folder";
  }
  if (!fs::is_regular_file(source, ec)) throw InputError(name + ": no such file or folder");
  if (source.extension() != ".json" && flickr8k_token_file(source)) return "flickr8k";
  doc = io::read_json(source);
  const std::string format = json_dataset_format(doc);
  if (format.empty())
    throw InputError(name + ": not a dataset recap reads (a Karpathy split file, COCO or VizWiz annotations, MSR-VTT's "
                     "videos/sentences JSON, Flickr8k.token.txt, or a folder of images); --dataset-format forces one");
  return format;
}

bool mixes_splits(const std::string& format) { return format == "karpathy" || format == "msrvtt" || format == "flickr8k"; }

// Leaves out images without captions (unless they are to be captioned), then insists that
// every remaining media file exists: finding a wrong root after hours of embedding would
// waste them.
void finish(Dataset& dataset, const formats::ReadContext& context) {
  if (context.options.captions_required) {
    std::vector<Sample> kept;
    for (auto& s : dataset.samples) {
      if (s.captions.empty())
        ++dataset.images_without_captions;
      else
        kept.push_back(std::move(s));
    }
    dataset.samples = std::move(kept);
    if (dataset.samples.empty()) throw InputError(context.name + ": no image has a caption");
  }
  if (dataset.samples.empty()) throw InputError(context.name + ": no images");
  for (std::size_t i = 0; i < dataset.samples.size(); ++i) dataset.samples[i].position = i;
  const Shard& shard = context.options.shard;
  if (!shard.whole()) {
    const std::size_t before = dataset.samples.size();
    dataset.samples.erase(std::remove_if(dataset.samples.begin(), dataset.samples.end(),
                                         [&](const Sample& s) { return !shard.contains(s.id); }),
                          dataset.samples.end());
    dataset.outside_shard = before - dataset.samples.size();
    if (dataset.samples.empty())
      throw InputError(context.name + ": shard " + shard.label() + " holds none of its " + std::to_string(before) +
                       " images; use fewer shards");
  }
  if (!context.options.media_required) return;
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
    throw InputError(context.name + ": image " + first->id + ": " + first->media.string() + " does not exist (" +
                     std::to_string(missing) + " of " + std::to_string(dataset.samples.size()) +
                     " media files missing under " + context.media_root.string() + ")");
}

}  // namespace

const std::vector<std::string>& dataset_formats() {
  static const std::vector<std::string> names = {"karpathy", "coco", "vizwiz", "msrvtt", "flickr8k", "folder"};
  return names;
}

std::string detect_dataset_format(const fs::path& source, nlohmann::json* parsed) {
  nlohmann::json doc;
  const std::string format = detect(source, doc);
  if (parsed) *parsed = std::move(doc);
  return format;
}

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

Dataset read_dataset(const fs::path& source, const fs::path& media_root, const DatasetOptions& options) {
  const std::string name = source.string();
  const auto& known = dataset_formats();
  if (options.format != "auto" && std::find(known.begin(), known.end(), options.format) == known.end())
    throw UsageError("unknown dataset format '" + options.format + "' (known: auto, karpathy, coco, vizwiz, msrvtt, "
                     "flickr8k, folder)");
  nlohmann::json doc;
  Dataset dataset;
  dataset.format = options.format == "auto" ? detect(source, doc) : options.format;
  const bool json = dataset.format != "flickr8k" && dataset.format != "folder";
  if (json && doc.is_null()) doc = io::read_json(source);

  if (mixes_splits(dataset.format) && options.splits.empty())
    throw UsageError(name + ": a " + dataset.format + " file mixes training and test " +
                     (dataset.format == "msrvtt" ? "videos: choose splits (train, val, test, train-9k or test-1k)"
                      : dataset.format == "flickr8k" ? "images: choose splits (train, val or test)"
                                                     : "images: choose splits (e.g. train,restval)"));
  if (!mixes_splits(dataset.format) && !options.splits.empty())
    throw UsageError(name + ": " +
                     (dataset.format == "folder"   ? "folders have no splits"
                      : dataset.format == "coco"   ? "COCO annotations hold one split already"
                                                   : "VizWiz annotations hold one split already") +
                     "; splits apply to Karpathy, MSR-VTT and Flickr8k files");
  if (!options.msrvtt_test_list.empty() && dataset.format != "msrvtt")
    throw UsageError("the MSR-VTT test list applies to MSR-VTT files, not to " + name);

  const formats::ReadContext context{source, name, media_root, options};
  if (dataset.format == "karpathy") formats::read_karpathy(doc, context, dataset);
  else if (dataset.format == "coco" || dataset.format == "vizwiz") formats::read_coco(doc, context, dataset);
  else if (dataset.format == "msrvtt") formats::read_msrvtt(doc, context, dataset);
  else if (dataset.format == "flickr8k") formats::read_flickr8k_dataset(context, dataset);
  else formats::read_media_folder(context, dataset);
  finish(dataset, context);
  return dataset;
}

}  // namespace recap::data
