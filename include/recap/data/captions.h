#pragma once
// Reference captions and caption results, as scorers read them.
//
// References: COCO annotations ({"annotations": [{"image_id", "caption"}, ...]}) or a
// Karpathy split file (dataset_coco.json / dataset_flickr30k.json: {"images": [{"split",
// "sentences": [{"raw"}], "cocoid" | "filename"}]}), where the image id is "cocoid" when
// present, else the file name without extension, read as pycocoevalcap reads them (every
// caption, even an empty one); or any other dataset format (dataset.h: VizWiz, MSR-VTT,
// Flickr8k, a folder with captions.json), read by data::read_dataset. Image ids are
// compared as text, so 42 and "42" name the same image (results and annotations often
// disagree on the type).
#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "recap/data/dataset.h"

namespace recap::data {

// The text form of an image id: integers in decimal, strings as they are.
std::string id_key(const nlohmann::json& id);

// A caption field as text. InputError ("<where>: caption is not a string" / "... not
// valid UTF-8") otherwise: nlohmann/json accepts invalid UTF-8 inside strings.
std::string caption_text(const nlohmann::json& value, const std::string& where);
// The same, for readers of many captions: `where` is only called to word an error, so a
// valid caption costs no message text.
std::string caption_text(const nlohmann::json& value, const std::function<std::string()>& where);

struct ReferenceSet {
  std::map<std::string, std::vector<std::string>> captions;  // by id_key
  std::vector<std::string> row_image;  // the id_key of each reference caption, in file order
};

// `split`: with a file that mixes splits, keep only images of that split ("test", "val",
// ...). `dataset`: the format (forced or "auto") and the reader's options for formats other
// than COCO and Karpathy; its splits and requirements are set here.
ReferenceSet read_references(const std::filesystem::path& path, const std::optional<std::string>& split = {},
                             const DatasetOptions& dataset = {});

struct CaptionResult {
  nlohmann::json image_id;
  std::string key;  // id_key(image_id)
  std::string caption;
};

// COCO results [{"image_id", "caption"}]. Throws InputError on a malformed entry, a
// duplicate image id or invalid UTF-8.
std::vector<CaptionResult> read_results(const std::filesystem::path& path);
// The results of several files (the shards of a captioning job array), in file order.
// InputError as above, and when an image id appears in two files (naming both).
std::vector<CaptionResult> read_results(const std::vector<std::filesystem::path>& paths);

}  // namespace recap::data
