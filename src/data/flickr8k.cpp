#include "recap/data/flickr8k.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "dataset_formats.h"
#include "recap/common/error.h"
#include "recap/io/json_file.h"

namespace fs = std::filesystem;

namespace recap::data {
namespace {

std::filesystem::path find_file(const std::filesystem::path& root, const std::string& name) {
  for (const auto& candidate : {root / name, root / "Flickr8k_text" / name})
    if (std::filesystem::exists(candidate)) return candidate;
  throw InputError(root.string() + ": no " + name + " (expected the Flickr8k text files here or in Flickr8k_text/)");
}

std::vector<std::vector<std::string>> read_tsv(const std::filesystem::path& path, std::size_t columns) {
  std::ifstream in(path);
  if (!in) throw InputError(path.string() + ": cannot open for reading");
  std::vector<std::vector<std::string>> rows;
  std::string line;
  for (std::size_t number = 1; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    std::vector<std::string> fields;
    std::stringstream s(line);
    for (std::string f; std::getline(s, f, '\t');) fields.push_back(f);
    if (fields.size() != columns)
      throw InputError(path.string() + ":" + std::to_string(number) + ": expected " + std::to_string(columns) +
                       " tab-separated columns, found " + std::to_string(fields.size()));
    rows.push_back(std::move(fields));
  }
  return rows;
}

double number(const std::string& text, const std::filesystem::path& path) {
  try {
    return std::stod(text);
  } catch (const std::exception&) {
    throw InputError(path.string() + ": '" + text + "' is not a number");
  }
}

// Flickr8k.token.txt, the one reader of the captions for both captioning and the human
// judgements: "<image>#<k>" -> caption, and each image's captions in file order.
struct Tokens {
  std::map<std::string, std::string> caption_of;
  std::map<std::string, std::vector<std::string>> image_refs;
  std::vector<std::string> images;  // in file order
};

Tokens read_tokens(const fs::path& token_path) {
  Tokens tokens;
  for (const auto& row : read_tsv(token_path, 2)) {
    const auto hash = row[0].find('#');
    if (hash == std::string::npos || hash == 0)
      throw InputError(token_path.string() + ": '" + row[0] + "' is not <image>#<number>");
    const std::string image = row[0].substr(0, hash);
    tokens.caption_of[row[0]] = row[1];
    auto& refs = tokens.image_refs[image];
    if (refs.empty()) tokens.images.push_back(image);
    refs.push_back(row[1]);
  }
  return tokens;
}

// Flickr_8k.<name>Images.txt: one image file name per line.
std::set<std::string> read_image_list(const fs::path& path) {
  std::set<std::string> images;
  for (std::string line : io::read_lines(path)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty()) images.insert(line);
  }
  return images;
}

}  // namespace

namespace formats {

void read_flickr8k_dataset(const ReadContext& context, Dataset& dataset) {
  const bool folder = fs::is_directory(context.source);
  const fs::path token_path = folder ? find_file(context.source, "Flickr8k.token.txt") : context.source;
  const fs::path text_dir = token_path.parent_path();
  const Tokens tokens = read_tokens(token_path);
  static const std::map<std::string, std::string> kListOf = {
      {"train", "Flickr_8k.trainImages.txt"}, {"val", "Flickr_8k.devImages.txt"},
      {"dev", "Flickr_8k.devImages.txt"}, {"test", "Flickr_8k.testImages.txt"}};
  std::set<std::string> wanted;
  for (const auto& split : context.options.splits) {
    const auto it = kListOf.find(split);
    if (it == kListOf.end()) throw InputError(context.name + ": Flickr8k has no split '" + split + "' (known: train, val, test)");
    const fs::path list = text_dir / it->second;
    if (!fs::is_regular_file(list))
      throw InputError(list.string() + ": missing (the Flickr8k split lists belong beside " + token_path.filename().string() + ")");
    const auto images = read_image_list(list);
    if (images.empty()) throw InputError(list.string() + ": lists no images");
    for (const auto& image : images) {
      if (!tokens.image_refs.count(image))
        throw InputError(list.string() + ": image " + image + " has no captions in " + token_path.string());
      wanted.insert(image);
    }
  }
  for (const auto& image : tokens.images) {
    if (!wanted.count(image)) continue;
    Sample sample{fs::path(image).stem().string(), context.media_root / image, {}};
    for (const auto& caption : tokens.image_refs.at(image)) add_caption(dataset, sample, caption);
    dataset.samples.push_back(std::move(sample));
  }
  dataset.listed_images = dataset.samples.size();
}

}  // namespace formats

std::vector<Judgement> read_flickr8k(const std::filesystem::path& root, Flickr8kSet set) {
  const auto token_path = find_file(root, "Flickr8k.token.txt");
  const Tokens tokens = read_tokens(token_path);
  const auto& caption_of = tokens.caption_of;
  auto image_refs = tokens.image_refs;  // image file name -> its captions
  auto caption = [&](const std::string& id, const std::filesystem::path& path) {
    auto it = caption_of.find(id);
    if (it == caption_of.end()) throw InputError(path.string() + ": caption id " + id + " is not in " + token_path.string());
    return it->second;
  };

  std::vector<Judgement> judgements;
  if (set == Flickr8kSet::expert) {
    const auto path = find_file(root, "ExpertAnnotations.txt");
    for (const auto& row : read_tsv(path, 5)) {
      const std::string text = caption(row[1], path);
      const auto& refs = image_refs[row[0]];
      if (std::find(refs.begin(), refs.end(), text) != refs.end()) continue;  // SPICE protocol
      for (int e = 2; e < 5; ++e) judgements.push_back({row[0], text, number(row[e], path), refs});
    }
  } else {
    const auto path = find_file(root, "CrowdFlowerAnnotations.txt");
    const auto rows = read_tsv(path, 5);
    std::map<std::string, std::vector<std::string>> remaining = image_refs;
    for (const auto& row : rows) {
      auto& refs = remaining[row[0]];
      const std::string text = caption(row[1], path);
      auto it = std::find(refs.begin(), refs.end(), text);  // one occurrence, as list.remove
      if (it != refs.end()) refs.erase(it);
    }
    for (const auto& row : rows) judgements.push_back({row[0], caption(row[1], path), number(row[2], path), {}});
    for (auto& j : judgements) j.references = remaining[j.image];
  }
  if (judgements.empty()) throw InputError(root.string() + ": no judgements found");
  for (const auto& j : judgements)
    if (j.references.empty()) throw InputError(root.string() + ": image " + j.image + " has no reference captions left");
  return judgements;
}

}  // namespace recap::data
