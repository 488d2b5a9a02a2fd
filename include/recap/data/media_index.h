#pragma once
// Finds the image file of an image id, for tools given results (ids) and a folder of
// images. Sources:
//  - a folder, searched recursively for image and video files; a file answers to its
//    stem ("1000092795" for Flickr30k's 1000092795.jpg) and, for COCO's and VizWiz's
//    names, to the number in it: COCO_val2014_000000042.jpg, 000000000042.jpg (2017) and
//    VizWiz_val_00000042.jpg answer to 42;
//  - a list file, one path per line (relative to the list's folder), named the same way;
//  - a .json object {"<id>": "<path>"} (paths relative to the JSON's folder).
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace recap::data {

// Whether a file has an extension recap-embed decodes (an image or a video).
bool is_media_file(const std::filesystem::path& path);

class MediaIndex {
 public:
  // InputError when `source` is none of the above or is empty.
  static MediaIndex open(const std::filesystem::path& source);

  // The file of `id` (id_key form), or nullopt when none answers to it. InputError when
  // two different files do (e.g. a train2014 and a val2014 copy in one folder). The file
  // of a .json map or list is not checked for existence here.
  std::optional<std::filesystem::path> find(const std::string& id) const;

  const std::filesystem::path& source() const { return source_; }

 private:
  void add(const std::filesystem::path& file);  // under every key it answers to

  std::filesystem::path source_;
  std::map<std::string, std::vector<std::filesystem::path>> files_;
};

// The image id each file of a listing goes by, the one rule recap-caption (results),
// recap-embed (--ids-out) and recap-score (--image-ids) share: when every file name ends
// in a distinct number (COCO_val2014_000000000042.jpg, Flickr30k's 1000092795.jpg) that
// number; otherwise each file's path relative to `root` (its folder, or the folder of a
// list file).
std::vector<nlohmann::json> image_ids_of_files(const std::vector<std::filesystem::path>& files,
                                               const std::filesystem::path& root);

}  // namespace recap::data
