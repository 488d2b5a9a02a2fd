// The readers of the data area, on a scratch file holding the input. The first byte picks
// the reader (modulo 12), the rest is the file:
//   0 data::read_results                      COCO results [{"image_id", "caption"}]
//   1 data::read_references                   COCO annotations or a Karpathy split file
//   2 data::read_references(split "test")
//   3 data::read_dataset, no splits           COCO or VizWiz annotations (+ media root)
//   4 data::read_dataset, splits train,restval  Karpathy split file
//   5 data::read_flickr8k(expert)             Flickr8k.token.txt '\0' ExpertAnnotations.txt
//   6 data::read_flickr8k(crowdflower)        Flickr8k.token.txt '\0' CrowdFlowerAnnotations.txt
//   7 data::MediaIndex::open(*.json)          {"<id>": "<path>"}, then find() of every id
//   8 data::MediaIndex::open(list file)       one path per line, then find() of every stem
//   9 io::read_jsonl and data::parse_split_list
//  10 data::read_dataset, MSR-VTT             MSRVTT_data.json, or MSRVTT_data.json '\0' 1k-A test list
//  11 data::read_dataset, VizWiz forced       annotations without required captions, rejected kept
// Documented refusals: recap::InputError, and recap::UsageError for options that do not fit
// the file (splits given to COCO annotations / missing for a Karpathy file). Anything else (nlohmann::json's own
// exceptions included) escaping a reader is a finding.
#include <cstdint>
#include <filesystem>
#include <set>
#include <string>
#include <string_view>

#include "fuzz_support.h"
#include "recap/data/captions.h"
#include "recap/data/dataset.h"
#include "recap/data/flickr8k.h"
#include "recap/data/media_index.h"
#include "recap/io/json_file.h"

using namespace recap;
namespace fs = std::filesystem;

namespace {

struct Scratch {
  fs::path json, jsonl, list, index_json, media, flickr, test_list;
};

const Scratch& scratch() {
  static const Scratch s = [] {
    const fs::path& dir = fuzz::scratch_dir();
    Scratch paths{dir / "input.json", dir / "input.jsonl", dir / "list.txt", dir / "index.json", dir / "media",
                  dir / "flickr8k", dir / "test_1k.csv"};
    // A media root where some of the seeds' images exist, so read_dataset gets past its
    // existence check.
    fs::create_directories(paths.media / "val2014");
    fs::create_directories(paths.flickr);
    for (const char* name : {"1.jpg", "a.jpg", "b.jpg", "256405548.jpg", "val2014/COCO_val2014_000000000042.jpg",
                             "video0.mp4", "video1.mp4", "video7010.mp4", "VizWiz_val_00000000.jpg"})
      fuzz::write_file(paths.media / name, "x");
    return paths;
  }();
  return s;
}

bool blank(const std::string& s) { return s.find_first_not_of(" \t\n\r\f\v") == std::string::npos; }

void results(const fs::path& path) {
  const auto list = data::read_results(path);
  std::set<std::string> keys;
  for (const auto& r : list) {
    FUZZ_CHECK(keys.insert(r.key).second, "duplicate key " + r.key + " accepted");
    FUZZ_CHECK(r.key == data::id_key(r.image_id), "key differs from id_key(image_id)");
  }
}

void references(const fs::path& path, const std::optional<std::string>& split) {
  const auto refs = data::read_references(path, split);
  std::size_t total = 0;
  for (const auto& [key, captions] : refs.captions) total += captions.size();
  FUZZ_CHECK(total == refs.row_image.size(), "row_image does not list every caption");
}

// Whatever a reader returns holds: distinct ids, no blank caption, counts that add up.
void check_dataset(const data::Dataset& d, const data::DatasetOptions& options) {
  FUZZ_CHECK(!d.samples.empty(), "an empty dataset was returned");
  FUZZ_CHECK(d.samples.size() + d.images_without_captions <= d.listed_images, "sample counts");
  std::set<std::string> ids;
  for (const auto& s : d.samples) {
    FUZZ_CHECK(ids.insert(s.id).second, "duplicate id " + s.id);
    FUZZ_CHECK(!options.captions_required || !s.captions.empty(), "sample without captions");
    for (const auto& c : s.captions) FUZZ_CHECK(!blank(c), "blank caption kept");
  }
}

void dataset(const fs::path& path, const std::vector<std::string>& splits) {
  data::DatasetOptions options;
  options.splits = splits;
  const auto d = data::read_dataset(path, scratch().media, options);
  FUZZ_CHECK(splits.empty() ? (d.format == "coco" || d.format == "vizwiz") : d.format == "karpathy", "format " + d.format);
  check_dataset(d, options);
}

// MSR-VTT: the official split, or with a 1k-A test list after a NUL byte, test-1k.
void msrvtt(std::string_view body) {
  const auto cut = body.find('\0');
  fuzz::write_file(scratch().json, body.substr(0, cut));
  data::DatasetOptions options;
  options.format = "msrvtt";
  if (cut == std::string_view::npos) {
    options.splits = {"train", "test"};
  } else {
    fuzz::write_file(scratch().test_list, body.substr(cut + 1));
    options.splits = {"test-1k"};
    options.msrvtt_test_list = scratch().test_list;
  }
  const auto d = data::read_dataset(scratch().json, scratch().media, options);
  check_dataset(d, options);
  for (const auto& s : d.samples) FUZZ_CHECK(s.media == scratch().media / (s.id + ".mp4"), "media of " + s.id);
}

void vizwiz(const fs::path& path) {
  data::DatasetOptions options;
  options.format = "vizwiz";
  options.captions_required = false;
  options.keep_rejected = true;
  check_dataset(data::read_dataset(path, scratch().media, options), options);
}

void flickr8k(std::string_view body, const char* annotations, data::Flickr8kSet set) {
  const auto cut = body.find('\0');
  const std::string_view tokens = body.substr(0, cut);
  const std::string_view rest = cut == std::string_view::npos ? std::string_view() : body.substr(cut + 1);
  fuzz::write_file(scratch().flickr / "Flickr8k.token.txt", tokens);
  fuzz::write_file(scratch().flickr / annotations, rest);
  const auto judgements = data::read_flickr8k(scratch().flickr, set);
  FUZZ_CHECK(!judgements.empty(), "no judgements returned");
  for (const auto& j : judgements) FUZZ_CHECK(!j.references.empty(), "judgement without references");
}

void media_index_json(std::string_view body) {
  fuzz::write_file(scratch().index_json, body);
  const auto index = data::MediaIndex::open(scratch().index_json);
  // The ids are the object's keys; a harness-side parse finds them.
  const auto doc = nlohmann::json::parse(body.begin(), body.end());
  for (auto it = doc.begin(); it != doc.end(); ++it) FUZZ_CHECK(index.find(it.key()).has_value(), "id " + it.key() + " lost");
}

void media_index_list(std::string_view body) {
  fuzz::write_file(scratch().list, body);
  const auto index = data::MediaIndex::open(scratch().list);
  for (const auto& line : io::read_lines(scratch().list))
    if (!line.empty()) (void)index.find(fs::path(line).stem().string());
  (void)index.find("42");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const int mode = data[0] % 12;
  const std::string_view body = fuzz::as_text(data + 1, size - 1);
  const Scratch& s = scratch();
  fuzz::guard([&] {
    switch (mode) {
      case 0: fuzz::write_file(s.json, body); results(s.json); break;
      case 1: fuzz::write_file(s.json, body); references(s.json, std::nullopt); break;
      case 2: fuzz::write_file(s.json, body); references(s.json, std::string("test")); break;
      case 3: fuzz::write_file(s.json, body); dataset(s.json, {}); break;
      case 4: fuzz::write_file(s.json, body); dataset(s.json, data::parse_split_list("train, restval")); break;
      case 5: flickr8k(body, "ExpertAnnotations.txt", data::Flickr8kSet::expert); break;
      case 6: flickr8k(body, "CrowdFlowerAnnotations.txt", data::Flickr8kSet::crowdflower); break;
      case 7: media_index_json(body); break;
      case 8: media_index_list(body); break;
      case 9: {
        fuzz::write_file(s.jsonl, body);
        (void)io::read_jsonl(s.jsonl);
        for (const auto& split : data::parse_split_list(std::string(body)))
          FUZZ_CHECK(!split.empty() && split.front() != ' ' && split.back() != ' ', "split '" + split + "'");
        break;
      }
      case 10: msrvtt(body); break;
      case 11: fuzz::write_file(s.json, body); vizwiz(s.json); break;
    }
  });
  return 0;
}
