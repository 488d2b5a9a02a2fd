#pragma once
// The dataset flags every tool that reads a dataset shares (recap-fit, recap-caption,
// recap-score, recap-dal): the format (detected unless forced), VizWiz's rejected
// captions and MSR-VTT's 1k-A test list. Header-only.
#include <CLI/CLI.hpp>
#include <filesystem>
#include <string>

#include "recap/data/dataset.h"

namespace recap::cli {

struct DatasetFlags {
  std::string format = "auto";
  bool keep_rejected = false;
  std::filesystem::path msrvtt_test_list;
};

inline void add_dataset_options(CLI::App& app, DatasetFlags& flags) {
  app.add_option("--dataset-format", flags.format,
                 "Dataset format: auto (told from the content), karpathy, coco, vizwiz, msrvtt, flickr8k or folder")
      ->check(CLI::IsMember({"auto", "karpathy", "coco", "vizwiz", "msrvtt", "flickr8k", "folder"}))
      ->capture_default_str();
  app.add_flag("--keep-rejected", flags.keep_rejected,
               "VizWiz: keep the captions marked rejected or pre-canned (left out by default)");
  app.add_option("--msrvtt-test-list", flags.msrvtt_test_list,
                 "MSR-VTT: the 1k-A test list (MSRVTT_JSFUSION_test.csv or one video id per line) for the splits "
                 "test-1k and train-9k")
      ->check(CLI::ExistingFile);
}

// The reader's options from the flags and a comma-separated split list ("" for none).
inline data::DatasetOptions dataset_options(const DatasetFlags& flags, const std::string& splits) {
  data::DatasetOptions options;
  options.format = flags.format;
  options.splits = data::parse_split_list(splits);
  options.keep_rejected = flags.keep_rejected;
  options.msrvtt_test_list = flags.msrvtt_test_list;
  return options;
}

}  // namespace recap::cli
