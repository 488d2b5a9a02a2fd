#include "fast_caption_files.h"

#include <simdjson.h>

#include <string>
#include <string_view>
#include <unordered_set>

namespace recap::data {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

// A parsed file, or nothing when it cannot be read or is not valid JSON and UTF-8 (the
// general reader then names the problem).
struct ParsedFile {
  simdjson::padded_string text;
  simdjson::dom::parser parser;
  element root;
};

bool parse(const std::filesystem::path& path, ParsedFile& file) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return false;
  if (simdjson::padded_string::load(path.string()).get(file.text) != simdjson::SUCCESS) return false;
  return file.parser.parse(file.text).get(file.root) == simdjson::SUCCESS;
}

// A field of an object; with repeated keys the last one, which is what nlohmann/json keeps.
std::optional<element> last_field(element object, std::string_view key) {
  std::optional<element> found;
  const simdjson::dom::object fields = object.get_object().value_unsafe();  // a copy: the result is a temporary
  for (const auto field : fields)
    if (field.key == key) found = field.value;
  return found;
}

// id_key's text of an image id: a string as it is, an integer in decimal.
std::optional<std::string> id_text(element id) {
  switch (id.type()) {
    case element_type::STRING: return std::string(id.get_string().value_unsafe());
    case element_type::INT64: return std::to_string(id.get_int64().value_unsafe());
    case element_type::UINT64: return std::to_string(id.get_uint64().value_unsafe());
    default: return std::nullopt;
  }
}

// The same id as the value nlohmann/json parses it to (it reads a number without a sign
// as unsigned): results carry it into the per-image output.
nlohmann::json id_value(element id) {
  switch (id.type()) {
    case element_type::STRING: return std::string(id.get_string().value_unsafe());
    case element_type::INT64: {
      const std::int64_t value = id.get_int64().value_unsafe();
      return value >= 0 ? nlohmann::json(static_cast<std::uint64_t>(value)) : nlohmann::json(value);
    }
    default: return id.get_uint64().value_unsafe();
  }
}

struct Entry {
  element image_id, caption;
};

// An entry's image id and caption, when it is an object with both, the caption a string
// and the id a string or an integer.
std::optional<Entry> entry(element value) {
  if (value.type() != element_type::OBJECT) return std::nullopt;
  const auto id = last_field(value, "image_id"), caption = last_field(value, "caption");
  if (!id || !caption || caption->type() != element_type::STRING) return std::nullopt;
  const auto type = id->type();
  if (type != element_type::STRING && type != element_type::INT64 && type != element_type::UINT64) return std::nullopt;
  return Entry{*id, *caption};
}

bool first_has(const std::optional<element>& list, std::string_view key) {
  if (!list || list->type() != element_type::ARRAY) return false;
  const simdjson::dom::array array = list->get_array().value_unsafe();
  if (array.size() == 0) return false;
  const element first = array.at(0).value_unsafe();
  return first.type() == element_type::OBJECT && last_field(first, key).has_value();
}

}  // namespace

namespace {

// The Karpathy split file's images ({"images": [{"split", "sentences": [{"raw"}], "cocoid" |
// "filename"}]}), as captions.cpp's general reader takes them.
std::optional<ReferenceSet> karpathy_references(element images, const std::optional<std::string>& split) {
  if (images.type() != element_type::ARRAY) return std::nullopt;
  ReferenceSet refs;
  const simdjson::dom::array list = images.get_array().value_unsafe();
  for (const element image : list) {
    if (image.type() != element_type::OBJECT) return std::nullopt;
    const auto sentences = last_field(image, "sentences");
    if (!sentences || sentences->type() != element_type::ARRAY) return std::nullopt;
    if (split) {
      const auto image_split = last_field(image, "split");
      if (image_split && image_split->type() != element_type::STRING) return std::nullopt;
      if ((image_split ? image_split->get_string().value_unsafe() : std::string_view()) != *split) continue;
    }
    std::string key;
    if (const auto cocoid = last_field(image, "cocoid")) {
      const auto text = id_text(*cocoid);
      if (!text) return std::nullopt;
      key = *text;
    } else if (const auto filename = last_field(image, "filename")) {
      if (filename->type() != element_type::STRING) return std::nullopt;
      key = std::filesystem::path(std::string(filename->get_string().value_unsafe())).stem().string();
    }
    if (key.empty()) return std::nullopt;
    auto& captions = refs.captions[key];  // an image without sentences is reported by the scorer
    const simdjson::dom::array sentence_list = sentences->get_array().value_unsafe();
    for (const element sentence : sentence_list) {
      if (sentence.type() != element_type::OBJECT) return std::nullopt;
      const auto raw = last_field(sentence, "raw");
      if (!raw || raw->type() != element_type::STRING) return std::nullopt;
      captions.emplace_back(raw->get_string().value_unsafe());
      refs.row_image.push_back(key);
    }
  }
  if (split && refs.captions.empty()) return std::nullopt;
  return refs;
}

// COCO caption annotations, {"annotations": [{"image_id", "caption"}, ...]}.
std::optional<ReferenceSet> coco_references(element annotations) {
  if (annotations.type() != element_type::ARRAY) return std::nullopt;
  ReferenceSet refs;
  const simdjson::dom::array list = annotations.get_array().value_unsafe();
  for (const element value : list) {
    const auto fields = entry(value);
    if (!fields) return std::nullopt;
    std::string key = *id_text(fields->image_id);
    refs.captions[key].emplace_back(fields->caption.get_string().value_unsafe());
    refs.row_image.push_back(std::move(key));
  }
  return refs;
}

}  // namespace

std::optional<ReferenceSet> read_references_fast(const std::filesystem::path& path, std::string format,
                                                 const std::optional<std::string>& split) {
  if (format != "auto" && format != "coco" && format != "karpathy") return std::nullopt;
  if (format == "coco" && split) return std::nullopt;  // a usage error, the general reader's to word
  ParsedFile file;
  if (!parse(path, file) || file.root.type() != element_type::OBJECT) return std::nullopt;
  const auto annotations = last_field(file.root, "annotations");
  const auto images = last_field(file.root, "images");
  if (format == "auto") {  // json_dataset_format's choice (dataset.cpp), where it is one of the two
    if (last_field(file.root, "videos") && last_field(file.root, "sentences")) return std::nullopt;
    if (annotations) {
      if (split || first_has(annotations, "is_rejected") || first_has(annotations, "is_precanned") ||
          first_has(images, "text_detected"))
        return std::nullopt;
      format = "coco";
    } else if (first_has(images, "sentences") || first_has(images, "split")) {
      format = "karpathy";
    } else {
      return std::nullopt;
    }
  }
  if (format == "coco") return annotations ? coco_references(*annotations) : std::nullopt;
  return images ? karpathy_references(*images, split) : std::nullopt;
}

std::optional<std::vector<CaptionResult>> read_results_fast(const std::filesystem::path& path) {
  ParsedFile file;
  if (!parse(path, file) || file.root.type() != element_type::ARRAY) return std::nullopt;
  const simdjson::dom::array list = file.root.get_array().value_unsafe();
  std::vector<CaptionResult> results;
  results.reserve(list.size());
  std::unordered_set<std::string> seen;
  for (const element value : list) {
    const auto fields = entry(value);
    if (!fields) return std::nullopt;
    CaptionResult r{id_value(fields->image_id), *id_text(fields->image_id),
                    std::string(fields->caption.get_string().value_unsafe())};
    if (!seen.insert(r.key).second) return std::nullopt;
    results.push_back(std::move(r));
  }
  return results;
}

}  // namespace recap::data
