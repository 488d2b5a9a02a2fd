#pragma once
// The readers behind data::read_dataset, one per format, and the checks they share.
// Private to src/data: tools and the rest of the library call read_dataset.
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "recap/data/dataset.h"

namespace recap::data::formats {

// What every reader gets: the file (for messages), the media root and the options.
struct ReadContext {
  std::filesystem::path source;
  std::string name;  // source as text, the prefix of every message
  std::filesystem::path media_root;
  const DatasetOptions& options;
};

void read_karpathy(const nlohmann::json& doc, const ReadContext& context, Dataset& dataset);
void read_coco(const nlohmann::json& doc, const ReadContext& context, Dataset& dataset);    // coco and vizwiz
void read_msrvtt(const nlohmann::json& doc, const ReadContext& context, Dataset& dataset);
void read_flickr8k_dataset(const ReadContext& context, Dataset& dataset);
void read_media_folder(const ReadContext& context, Dataset& dataset);

// Helpers shared by the readers.
const nlohmann::json& field(const nlohmann::json& object, const char* key, const std::string& where);
std::string text_field(const nlohmann::json& object, const char* key, const std::string& where);
std::string id_field(const nlohmann::json& object, const char* key, const std::string& where);
// Adds a caption to `sample`, or counts it as left out when it holds no text.
void add_caption(Dataset& dataset, Sample& sample, std::string caption);
// "a, b, c" ("none" when empty), for messages that list what a file has.
std::string joined(const std::set<std::string>& names);
// InputError when a requested split matched no sample: a misspelt split ("resval") must
// not quietly shrink a training set.
void check_splits_found(const ReadContext& context, const std::set<std::string>& found,
                        const std::set<std::string>& available);

}  // namespace recap::data::formats
