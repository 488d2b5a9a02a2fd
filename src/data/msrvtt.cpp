// MSR-VTT (Xu et al. 2016) as MSRVTT_data.json / train_val_videodatainfo.json hold it:
// see dataset.h for the splits.
#include <map>
#include <regex>
#include <sstream>

#include "dataset_formats.h"
#include "recap/common/error.h"
#include "recap/data/captions.h"
#include "recap/io/json_file.h"

namespace fs = std::filesystem;

namespace recap::data::formats {
namespace {

// The file's split names for the official split, by the names a user gives.
const std::map<std::string, std::string> kOfficialSplits = {
    {"train", "train"}, {"val", "validate"}, {"validate", "validate"}, {"test", "test"}};

// "video7010" from "video7010", "7010" or "7010.mp4".
std::string video_id_from(std::string text) {
  static const std::regex number(R"(^(video)?(\d+)(\.mp4)?$)");
  std::smatch m;
  if (std::regex_match(text, m, number)) return "video" + m.str(2);
  return text;
}

// The 1k-A test list: one video id per line (video7010 or 7010), or JSFusion's CSV
// (MSRVTT_JSFUSION_test.csv: key,vid_key,video_id,sentence) with a header naming video_id.
std::vector<std::string> read_test_list(const fs::path& path) {
  const auto lines = io::read_lines(path);
  std::vector<std::string> ids;
  int column = -1;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    std::string line = lines[i];
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    std::vector<std::string> cells;
    std::stringstream s(line);
    for (std::string cell; std::getline(s, cell, ',');) cells.push_back(cell);
    if (ids.empty() && column < 0 && cells.size() > 1) {  // a CSV header
      for (std::size_t c = 0; c < cells.size(); ++c)
        if (cells[c] == "video_id") column = static_cast<int>(c);
      if (column < 0)
        throw InputError(path.string() + ":1: a CSV test list needs a \"video_id\" column (found: " + line + ")");
      continue;
    }
    const std::string cell = column >= 0 ? (static_cast<std::size_t>(column) < cells.size() ? cells[column] : "") : line;
    const auto first = cell.find_first_not_of(" \t"), last = cell.find_last_not_of(" \t");
    if (first == std::string::npos)
      throw InputError(path.string() + ":" + std::to_string(i + 1) + ": no video id on this line");
    ids.push_back(video_id_from(cell.substr(first, last - first + 1)));
  }
  if (ids.empty()) throw InputError(path.string() + ": the MSR-VTT test list names no videos");
  return ids;
}

}  // namespace

void read_msrvtt(const nlohmann::json& doc, const ReadContext& context, Dataset& dataset) {
  const auto& options = context.options;
  std::set<std::string> official, jsfusion;
  for (const auto& split : options.splits) {
    if (kOfficialSplits.count(split)) official.insert(kOfficialSplits.at(split));
    else if (split == "train-9k" || split == "test-1k") jsfusion.insert(split);
    else throw InputError(context.name + ": MSR-VTT has no split '" + split + "' (known: train, val, test, train-9k, test-1k)");
  }
  if (!jsfusion.empty() && options.msrvtt_test_list.empty())
    throw UsageError("MSR-VTT's train-9k / test-1k splits need the 1k-A test list (--msrvtt-test-list, e.g. "
                     "MSRVTT_JSFUSION_test.csv)");
  if (jsfusion.empty() && !options.msrvtt_test_list.empty())
    throw UsageError("the MSR-VTT test list applies to the train-9k / test-1k splits, not to " +
                     joined(std::set<std::string>(options.splits.begin(), options.splits.end())));

  const auto& videos = field(doc, "videos", context.name);
  const auto& sentences = field(doc, "sentences", context.name);
  if (!videos.is_array()) throw InputError(context.name + ": \"videos\" is not a list");
  if (!sentences.is_array()) throw InputError(context.name + ": \"sentences\" is not a list");

  std::map<std::string, std::size_t> test_1k;  // video id -> line order
  if (!jsfusion.empty()) {
    for (const auto& id : read_test_list(options.msrvtt_test_list))
      if (!test_1k.emplace(id, test_1k.size()).second)
        throw InputError(options.msrvtt_test_list.string() + ": video " + id + " is listed more than once");
  }

  std::map<std::string, std::size_t> row_of;
  std::set<std::string> all_ids, present, found;
  for (std::size_t i = 0; i < videos.size(); ++i) {
    const std::string where = context.name + ": videos[" + std::to_string(i) + "]";
    const std::string id = text_field(videos[i], "video_id", where);
    if (!all_ids.insert(id).second) throw InputError(where + ": video " + id + " appears more than once");
    bool keep = false;
    if (!official.empty()) {
      const std::string split = text_field(videos[i], "split", where + " (" + id + ")");
      present.insert(split);
      if (official.count(split)) {
        keep = true;
        found.insert(split == "validate" ? "val" : split);
      }
    }
    const bool in_1k = test_1k.count(id) > 0;
    if ((jsfusion.count("test-1k") && in_1k) || (jsfusion.count("train-9k") && !in_1k)) {
      keep = true;
      found.insert(in_1k ? "test-1k" : "train-9k");
    }
    if (!keep) continue;
    row_of.emplace(id, dataset.samples.size());
    dataset.samples.push_back({id, context.media_root / (id + ".mp4"), {}});
  }
  for (const auto& [id, line] : test_1k)
    if (!all_ids.count(id))
      throw InputError(options.msrvtt_test_list.string() + ": video " + id + " (entry " + std::to_string(line + 1) +
                       ") is not in " + context.name);
  // Splits named by the user as given (val, not the file's "validate").
  std::set<std::string> requested;
  for (const auto& split : options.splits) requested.insert(split == "validate" ? "val" : split);
  for (const auto& split : requested)
    if (!found.count(split))
      throw InputError(context.name + ": no videos in split '" + split + "' (the file has: " + joined(present) + ")");
  dataset.listed_images = dataset.samples.size();

  for (std::size_t i = 0; i < sentences.size(); ++i) {
    const std::string where = context.name + ": sentences[" + std::to_string(i) + "]";
    const std::string id = text_field(sentences[i], "video_id", where);
    if (!all_ids.count(id)) throw InputError(where + ": video_id " + id + " is not in \"videos\"");
    const auto it = row_of.find(id);
    if (it == row_of.end()) continue;  // another split
    add_caption(dataset, dataset.samples[it->second], caption_text(field(sentences[i], "caption", where), where));
  }
}

}  // namespace recap::data::formats
