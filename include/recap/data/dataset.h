#pragma once
// Captioning datasets as samples {id, media path, captions} (docs/architecture.md,
// "Layers"). Every format yields the same samples, so every tool that takes a dataset
// (recap-fit, recap-caption, recap-score, recap-dal) takes each of them. The format is
// told from the file's content; DatasetOptions::format forces one.
//
//  - karpathy: Karpathy split files (dataset_coco.json, dataset_flickr30k.json):
//    {"images": [{"split", "filepath"?, "filename", "sentences": [{"raw"}], "cocoid"?}]};
//    media = root/filepath/filename, id = "cocoid" when present, else the file name's
//    stem. Mixes splits: reading it needs splits (train,restval / val / test).
//  - coco: COCO annotations (captions_train2014.json): {"images": [{"id", "file_name"}],
//    "annotations": [{"image_id", "caption"}]}; media = root/file_name. One split per file.
//  - vizwiz: VizWiz-Captions (annotations/{train,val,test}.json): COCO's layout, with
//    "is_rejected" / "is_precanned" on each annotation (and "text_detected" on each
//    image). Rejected and pre-canned captions are left out unless keep_rejected. The
//    test file has no annotations: it can be captioned, not scored.
//  - msrvtt: MSR-VTT (MSRVTT_data.json or train_val_videodatainfo.json): {"videos":
//    [{"video_id", "split"}], "sentences": [{"video_id", "caption"}]}; media =
//    root/<video_id>.mp4, id = video_id. Splits: the official train / val (= validate) /
//    test (6,513 / 497 / 2,990), or JSFusion's train-9k / test-1k, where test-1k is the
//    1k-A list the user supplies (msrvtt_test_list) and train-9k every other video.
//  - flickr8k: Flickr8k.token.txt ("<image>#<k>\t<caption>"), or the folder holding it
//    (directly or in Flickr8k_text/), with Flickr_8k.{train,dev,test}Images.txt for the
//    splits train / val (= dev) / test; media = root/<image>, id = the file's stem. The
//    same token reader serves the human-judgement sets (flickr8k.h).
//  - folder: a folder of images or videos (recursive, sorted), ids by
//    image_ids_of_files (media_index.h), with optional captions in FOLDER/captions.json:
//    {"<id or path relative to the folder>": "caption" | ["caption", ...]}. Media are
//    under the folder itself; the media root is not used.
//
// What a researcher expects from a dataset: a caption that is empty or only whitespace
// is left out and counted (COCO has a few), so is an image left without any caption
// (unless captions are optional: captioning a test split); everything else that is
// wrong (missing fields, an unknown split, a duplicate id, a media file that does not
// exist) is an InputError naming the file and the entry.
#include <cstddef>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "recap/common/shard.h"

namespace recap::data {

struct Sample {
  std::string id;                     // id_key form (see captions.h)
  std::filesystem::path media;        // the image (or video) file
  std::vector<std::string> captions;  // in file order, none empty
  std::size_t position = 0;           // its place among all samples kept, before any shard is taken
};

struct Dataset {
  std::string format;                            // one of dataset_formats()
  std::vector<Sample> samples;                   // in file order
  std::size_t listed_images = 0;                 // images in the selected splits, before anything is left out
  std::size_t empty_captions = 0;                // captions left out: empty or whitespace only
  std::size_t rejected_captions = 0;             // VizWiz: captions left out as rejected or pre-canned
  std::size_t images_without_captions = 0;       // images left out: no caption left (captions required)
  std::size_t outside_shard = 0;                 // images of the other shards (DatasetOptions::shard)
};

struct DatasetOptions {
  std::string format = "auto";              // "auto" or one of dataset_formats()
  std::vector<std::string> splits;          // karpathy, msrvtt, flickr8k: required; others: none
  bool keep_rejected = false;               // VizWiz: keep rejected and pre-canned captions
  std::filesystem::path msrvtt_test_list;   // MSR-VTT test-1k / train-9k: the 1k-A video list
  bool captions_required = true;            // false: keep images without captions (to caption them)
  bool media_required = true;               // false: do not check that media files exist (references)
  Shard shard;                              // keep only the samples of this slice (by stable hash of the id)
};

// "karpathy", "coco", "vizwiz", "msrvtt", "flickr8k", "folder".
const std::vector<std::string>& dataset_formats();

// The format of `source`, told from its content. InputError naming the file when it is
// none of them (or cannot be read). A JSON source's document is left in `parsed` when
// given, so that a caller need not parse a large file twice.
std::string detect_dataset_format(const std::filesystem::path& source, nlohmann::json* parsed = nullptr);

// The format of a parsed JSON dataset ("karpathy", "coco", "vizwiz", "msrvtt"), or "" when
// it is none of them.
std::string json_dataset_format(const nlohmann::json& doc);

// "train,restval" -> {"train", "restval"} (blanks around names ignored, duplicates dropped).
std::vector<std::string> parse_split_list(const std::string& list);

// Reads `source`, keeping the samples of `options.splits` and resolving media paths under
// `media_root`. InputError for bad content, UsageError for options that do not fit the
// format (splits for a one-split file, none for a file that mixes them, an unknown format).
Dataset read_dataset(const std::filesystem::path& source, const std::filesystem::path& media_root,
                     const DatasetOptions& options = {});

}  // namespace recap::data
