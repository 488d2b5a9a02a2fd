#include "recap/data/flickr8k.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>

#include "recap/common/error.h"

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

}  // namespace

std::vector<Judgement> read_flickr8k(const std::filesystem::path& root, Flickr8kSet set) {
  const auto token_path = find_file(root, "Flickr8k.token.txt");
  std::map<std::string, std::string> caption_of;             // "<image>#k" -> caption
  std::map<std::string, std::vector<std::string>> image_refs;  // image file name -> its captions
  for (const auto& row : read_tsv(token_path, 2)) {
    caption_of[row[0]] = row[1];
    image_refs[row[0].substr(0, row[0].find('#'))].push_back(row[1]);
  }
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
