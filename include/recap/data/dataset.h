#pragma once
// Captioning datasets as training samples {id, media path, captions} (docs/architecture.md, "Layers").
//
// Two formats, told apart by their content:
//  - Karpathy split files (dataset_coco.json, dataset_flickr30k.json):
//    {"images": [{"split", "filepath"?, "filename", "sentences": [{"raw"}], "cocoid"?}]};
//    media = root/filepath/filename (root/filename without "filepath"), id = "cocoid"
//    when present, else the file name's stem (as data::read_references keys them). Such
//    a file mixes training and test images, so reading it without splits is a UsageError.
//  - COCO annotations (captions_train2014.json): {"images": [{"id", "file_name"}],
//    "annotations": [{"image_id", "caption"}]}; media = root/file_name, id = "id". Such a
//    file holds one split already, so asking it for splits is a UsageError.
//
// What a researcher expects from a training set: a caption that is empty or only
// whitespace is left out and counted (COCO has a few), so is an image left without any
// caption; everything else that is wrong (missing fields, a duplicate id, a split with no
// images, an image file that does not exist under the root) is an InputError naming the
// file and the entry.
#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

namespace recap::data {

struct Sample {
  std::string id;                     // id_key form (see captions.h)
  std::filesystem::path media;        // the image (or video) file
  std::vector<std::string> captions;  // in file order, none empty
};

struct Dataset {
  std::string format;  // "karpathy" or "coco"
  std::vector<Sample> samples;               // in file order
  std::size_t listed_images = 0;             // images in the selected splits, before anything is left out
  std::size_t empty_captions = 0;            // captions left out: empty or whitespace only
  std::size_t images_without_captions = 0;   // images left out: no caption left
};

// "train,restval" -> {"train", "restval"} (blanks around names ignored, duplicates dropped).
std::vector<std::string> parse_split_list(const std::string& list);

// Reads `file`, keeping the images of `splits` (Karpathy files: at least one, each
// matching some image; COCO annotations: none) and resolving media paths under
// `media_root`. Every kept image file must exist.
Dataset read_dataset(const std::filesystem::path& file, const std::filesystem::path& media_root,
                     const std::vector<std::string>& splits = {});

}  // namespace recap::data
