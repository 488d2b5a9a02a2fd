#include "recap/data/media_index.h"

#include <algorithm>
#include <cctype>
#include <set>
#include <regex>

#include "recap/common/error.h"
#include "recap/io/folder_walk.h"
#include "recap/io/json_file.h"

namespace fs = std::filesystem;

namespace recap::data {
namespace {

bool all_digits(const std::string& text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); });
}

// "000000000042" -> "42", the form data::id_key gives an integer id.
std::string without_leading_zeros(const std::string& digits) {
  const auto first = digits.find_first_not_of('0');
  return first == std::string::npos ? "0" : digits.substr(first);
}

}  // namespace

// The extensions recap-embed decodes (src/vision's image and video lists). Repeated here
// because the data layer must not pull in OpenCV; other files in an image folder (a
// README, a .json of the same stem) must not make an id ambiguous.
bool is_media_file(const fs::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const char* known : {".jpg", ".jpeg", ".jpe", ".png", ".bmp", ".webp", ".tif", ".tiff", ".ppm", ".pgm", ".mp4",
                            ".avi", ".mkv", ".webm", ".mov", ".mpg", ".mpeg", ".m4v"})
    if (ext == known) return true;
  return false;
}

void MediaIndex::add(const fs::path& file) {
  const std::string stem = file.stem().string();
  std::vector<std::string> keys = {stem};
  if (all_digits(stem)) keys.push_back(without_leading_zeros(stem));  // COCO 2017: 000000000042.jpg
  // COCO 2014's COCO_val2014_000000000042.jpg and VizWiz's VizWiz_val_00000042.jpg are image 42.
  const auto underscore = stem.rfind('_');
  for (const char* prefix : {"COCO_", "VizWiz_"})
    if (stem.rfind(prefix, 0) == 0 && underscore != std::string::npos && all_digits(stem.substr(underscore + 1)))
      keys.push_back(without_leading_zeros(stem.substr(underscore + 1)));
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  for (const auto& key : keys) files_[key].push_back(file);
}

MediaIndex MediaIndex::open(const fs::path& source) {
  MediaIndex index;
  index.source_ = source;
  const std::string name = source.string();
  std::error_code ec;
  if (fs::is_directory(source, ec)) {
    for (const auto& file : io::files_under(source))
      if (is_media_file(file)) index.add(file);
    if (index.files_.empty()) throw InputError(name + ": no image or video files in this folder");
    return index;
  }
  if (!fs::is_regular_file(source, ec)) throw InputError(name + ": no such folder or file");
  if (source.extension() == ".json") {
    const auto map = io::read_json(source);
    if (!map.is_object()) throw InputError(name + ": expected a JSON object {\"<image id>\": \"<path>\"}");
    for (auto it = map.begin(); it != map.end(); ++it) {
      if (!it.value().is_string()) throw InputError(name + ": the path of image " + it.key() + " is not a string");
      const fs::path p = it.value().get<std::string>();
      index.files_[it.key()].push_back(p.is_absolute() ? p : source.parent_path() / p);
    }
  } else {
    for (std::string line : io::read_lines(source)) {
      if (line.empty()) continue;
      const fs::path p = line;
      index.add(p.is_absolute() ? p : source.parent_path() / p);
    }
  }
  if (index.files_.empty()) throw InputError(name + ": names no files");
  return index;
}

std::optional<fs::path> MediaIndex::find(const std::string& id) const {
  const auto it = files_.find(id);
  if (it == files_.end()) return std::nullopt;
  std::vector<fs::path> distinct = it->second;
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  if (distinct.size() > 1)
    throw InputError(source_.string() + ": image " + id + " matches more than one file (" + distinct[0].string() +
                     ", " + distinct[1].string() + ")");
  return distinct.front();
}

std::vector<nlohmann::json> image_ids_of_files(const std::vector<fs::path>& files, const fs::path& root) {
  static const std::regex trailing(R"((\d+)$)");
  std::vector<nlohmann::json> numeric, names;
  std::set<long long> seen;
  bool all_numeric = true;
  const fs::path base = fs::is_directory(root) ? root : root.parent_path();
  for (const auto& f : files) {
    const std::string stem = f.stem().string();
    std::smatch m;
    if (all_numeric && std::regex_search(stem, m, trailing) && m.str(1).size() < 18 && seen.insert(std::stoll(m.str(1))).second)
      numeric.emplace_back(std::stoll(m.str(1)));
    else
      all_numeric = false;
    names.emplace_back(f.lexically_relative(base).string());
  }
  return all_numeric ? numeric : names;
}

}  // namespace recap::data
