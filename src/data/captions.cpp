#include "recap/data/captions.h"

#include <map>
#include <unordered_set>
#include <utility>

#include "fast_caption_files.h"
#include "recap/common/error.h"
#include "recap/io/json_file.h"

namespace recap::data {
namespace {

// nlohmann/json accepts invalid UTF-8 inside strings on parse; scorers must not.
bool valid_utf8(const std::string& s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    const std::size_t extra = c < 0x80 ? 0 : (c >> 5) == 6 ? 1 : (c >> 4) == 14 ? 2 : (c >> 3) == 30 ? 3 : 99;
    if (extra == 99 || (extra > 0 && i + extra >= s.size())) return false;
    for (std::size_t k = 1; k <= extra; ++k)
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 2) return false;
    i += extra + 1;
  }
  return true;
}

// A string field of an object, "" when absent; InputError when it is not a string.
std::string string_field(const nlohmann::json& object, const char* key, const std::string& where) {
  if (!object.contains(key)) return "";
  if (!object[key].is_string()) throw InputError(where + ": \"" + key + "\" is not a string");
  return object[key].get<std::string>();
}

}  // namespace

std::string caption_text(const nlohmann::json& value, const std::function<std::string()>& where) {
  if (!value.is_string()) throw InputError(where() + ": caption is not a string");
  std::string text = value.get<std::string>();
  if (!valid_utf8(text)) throw InputError(where() + ": caption is not valid UTF-8");
  return text;
}

std::string caption_text(const nlohmann::json& value, const std::string& where) {
  return caption_text(value, [&] { return where; });
}

std::string id_key(const nlohmann::json& id) {
  if (id.is_string()) return id.get<std::string>();
  if (id.is_number_integer()) return id.dump();
  throw InputError("image id " + id.dump() + " is neither an integer nor a string");
}

namespace {

// id_key, with the entry that holds the id named in the error.
std::string entry_id_key(const nlohmann::json& id, const std::function<std::string()>& where) {
  try {
    return id_key(id);
  } catch (const InputError& e) {
    throw InputError(where() + ": " + e.what());
  }
}

// The "image_id" and "caption" of an annotation or a result; InputError when the entry is
// not an object holding both.
std::pair<const nlohmann::json*, const nlohmann::json*> id_and_caption(const nlohmann::json& entry,
                                                                        const std::function<std::string()>& where) {
  const auto id = entry.is_object() ? entry.find("image_id") : entry.end();
  const auto caption = entry.is_object() ? entry.find("caption") : entry.end();
  if (id == entry.end() || caption == entry.end()) throw InputError(where() + ": needs \"image_id\" and \"caption\"");
  return {&*id, &*caption};
}

}  // namespace

ReferenceSet read_references(const std::filesystem::path& path, const std::optional<std::string>& split,
                             const DatasetOptions& dataset) {
  if (auto refs = read_references_fast(path, dataset.format, split)) return std::move(*refs);
  const std::string name = path.string();
  std::string format = dataset.format;
  nlohmann::json doc;
  if (format == "auto") format = detect_dataset_format(path, &doc);
  if ((format == "coco" || format == "karpathy") && doc.is_null()) doc = io::read_json(path);
  ReferenceSet refs;
  auto add = [&](std::string key, std::string caption) {
    refs.captions[key].push_back(std::move(caption));
    refs.row_image.push_back(std::move(key));
  };
  if (format != "coco" && format != "karpathy") {
    DatasetOptions options = dataset;
    options.format = format;
    options.splits.clear();
    if (split) options.splits.push_back(*split);
    options.captions_required = false;  // an image without references is reported by the scorer
    options.media_required = false;
    for (const auto& sample : read_dataset(path, {}, options).samples) {
      refs.captions[sample.id];  // an image without references is reported by the scorer
      for (const auto& caption : sample.captions) add(sample.id, caption);
    }
    return refs;
  }
  if (format == "coco") {
    if (split) throw UsageError(name + ": --split applies to Karpathy split files, not COCO annotations");
    const auto& list = doc["annotations"];
    if (!list.is_array()) throw InputError(name + ": \"annotations\" is not a list");
    for (std::size_t i = 0; i < list.size(); ++i) {
      const auto where = [&] { return name + ": annotation " + std::to_string(i); };
      const auto [id, caption] = id_and_caption(list[i], where);
      add(entry_id_key(*id, where), caption_text(*caption, where));
    }
  } else {
    const auto& images = doc["images"];
    for (std::size_t i = 0; i < images.size(); ++i) {
      const std::string where = name + ": image " + std::to_string(i);
      const auto& image = images[i];
      if (!image.is_object() || !image.contains("sentences") || !image["sentences"].is_array())
        throw InputError(where + ": needs a \"sentences\" list");
      if (split && string_field(image, "split", where) != *split) continue;
      const std::string key = image.contains("cocoid") ? entry_id_key(image["cocoid"], [&] { return where; })
                                                       : std::filesystem::path(string_field(image, "filename", where)).stem().string();
      if (key.empty()) throw InputError(where + " has neither \"cocoid\" nor \"filename\"");
      refs.captions[key];  // an image without sentences is reported by the scorer
      for (const auto& sentence : image["sentences"]) {
        if (!sentence.is_object() || !sentence.contains("raw"))
          throw InputError(name + ": image " + key + ": a sentence without \"raw\" text");
        add(key, caption_text(sentence["raw"], name + ": image " + key));
      }
    }
    if (split && refs.captions.empty()) throw InputError(name + ": no images in split '" + *split + "'");
  }
  return refs;
}

std::vector<CaptionResult> read_results(const std::filesystem::path& path) {
  if (auto results = read_results_fast(path)) return std::move(*results);
  const std::string name = path.string();
  const nlohmann::json doc = io::read_json(path);
  if (!doc.is_array()) throw InputError(name + ": expected COCO results, a JSON array of {\"image_id\", \"caption\"}");
  std::vector<CaptionResult> results;
  results.reserve(doc.size());
  std::unordered_set<std::string> seen;
  for (std::size_t i = 0; i < doc.size(); ++i) {
    const auto where = [&] { return name + ": entry " + std::to_string(i); };
    const auto [id, caption] = id_and_caption(doc[i], where);
    CaptionResult r{*id, entry_id_key(*id, where), caption_text(*caption, where)};
    if (!seen.insert(r.key).second) throw InputError(where() + ": image id " + r.key + " appears more than once");
    results.push_back(std::move(r));
  }
  return results;
}

std::vector<CaptionResult> read_results(const std::vector<std::filesystem::path>& paths) {
  std::vector<CaptionResult> all;
  std::map<std::string, std::size_t> file_of;  // image id -> index of the file that has it
  for (std::size_t f = 0; f < paths.size(); ++f) {
    auto results = read_results(paths[f]);
    for (auto& r : results) {
      const auto [at, fresh] = file_of.emplace(r.key, f);
      if (!fresh)
        throw InputError(paths[f].string() + ": image id " + r.key + " is also in " + paths[at->second].string() +
                         " (shards overlap, or one file was given twice)");
      all.push_back(std::move(r));
    }
  }
  return all;
}

}  // namespace recap::data
