// A plain folder of images or videos, a user's own data, with optional captions in
// FOLDER/captions.json: see dataset.h.
#include <map>

#include "dataset_formats.h"
#include "recap/common/error.h"
#include "recap/data/captions.h"
#include "recap/data/media_index.h"
#include "recap/io/folder_walk.h"
#include "recap/io/json_file.h"

namespace fs = std::filesystem;

namespace recap::data::formats {

void read_media_folder(const ReadContext& context, Dataset& dataset) {
  if (!fs::is_directory(context.source)) throw InputError(context.name + ": a folder dataset must be a folder");
  std::vector<fs::path> files;
  for (auto& file : io::files_under(context.source))
    if (is_media_file(file)) files.push_back(std::move(file));
  if (files.empty()) throw InputError(context.name + ": no image or video files in this folder");
  const auto ids = image_ids_of_files(files, context.source);
  std::map<std::string, std::size_t> row_of;  // by id and by path relative to the folder
  for (std::size_t i = 0; i < files.size(); ++i) {
    dataset.samples.push_back({id_key(ids[i]), files[i], {}});
    row_of.emplace(dataset.samples.back().id, i);
    row_of.emplace(files[i].lexically_relative(context.source).generic_string(), i);
  }
  dataset.listed_images = dataset.samples.size();

  const fs::path captions_path = context.source / "captions.json";
  if (!fs::exists(captions_path)) return;
  const std::string name = captions_path.string();
  const auto captions = io::read_json(captions_path);
  if (!captions.is_object())
    throw InputError(name + ": expected {\"<image id or file>\": \"caption\" | [\"caption\", ...]}");
  for (auto it = captions.begin(); it != captions.end(); ++it) {
    const std::string where = name + ": \"" + it.key() + "\"";
    const auto row = row_of.find(it.key());
    if (row == row_of.end()) throw InputError(where + ": no image or video in the folder goes by this id or path");
    auto& sample = dataset.samples[row->second];
    if (!sample.captions.empty()) throw InputError(where + ": captions of image " + sample.id + " are given twice");
    const auto list = it.value().is_array() ? it.value() : nlohmann::json::array({it.value()});
    for (std::size_t j = 0; j < list.size(); ++j)
      add_caption(dataset, sample, caption_text(list[j], where + "[" + std::to_string(j) + "]"));
  }
}

}  // namespace recap::data::formats
