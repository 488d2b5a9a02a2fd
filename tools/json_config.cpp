#include "json_config.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

namespace recap::cli {
namespace {

// The sections a shared config may hold: the recap tools, without "recap-".
const std::vector<std::string> kToolSections = {"embed", "fit", "caption", "score", "lm", "synth", "dal", "report", "index"};

bool contains(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

std::string option_name(std::string key) {
  std::replace(key.begin(), key.end(), '_', '-');
  return key;
}

std::vector<std::string> as_inputs(const nlohmann::json& value) {
  std::vector<std::string> inputs;
  auto scalar = [](const nlohmann::json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); };
  if (value.is_array())
    for (const auto& v : value) inputs.push_back(scalar(v));
  else
    inputs.push_back(scalar(value));
  return inputs;
}

}  // namespace

std::string JsonConfig::to_config(const CLI::App* app, bool default_also, bool, std::string) const {
  nlohmann::json out = nlohmann::json::object();
  for (const CLI::Option* opt : app->get_options()) {
    if (opt->get_lnames().empty() || opt->get_configurable() == false) continue;
    const std::string name = opt->get_lnames().front();
    if (opt->count() > 0)
      out[name] = opt->results().size() == 1 ? nlohmann::json(opt->results().front()) : nlohmann::json(opt->results());
    else if (default_also && !opt->get_default_str().empty())
      out[name] = opt->get_default_str();
  }
  return out.dump(2) + "\n";
}

std::vector<CLI::ConfigItem> JsonConfig::from_config(std::istream& input) const {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(input);
  } catch (const nlohmann::json::exception& e) {
    throw CLI::ConversionError("config file is not valid JSON: " + std::string(e.what()));
  }
  if (!doc.is_object()) throw CLI::ConversionError("config file must hold a JSON object");
  // Keys starting with "_" are comments. An object is the section of one tool; any other
  // top-level key is an option of every tool that reads the file, so the tool must have
  // it (CLI11 reports an unknown one: allow_config_extras(error) in add_common_options).
  auto is_comment = [](const std::string& key) { return !key.empty() && key[0] == '_'; };
  auto is_mine = [&](const std::string& name) { return app_->get_option_no_throw("--" + name) != nullptr; };
  std::map<std::string, nlohmann::json> values;
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    if (is_comment(it.key())) continue;
    const std::string name = option_name(it.key());
    if (it.value().is_object()) {
      if (!contains(kToolSections, it.key()))
        throw CLI::ConversionError("config file has a section '" + it.key() +
                                   "' that names no recap tool (sections: embed, fit, caption, score, lm, synth, dal, report, index)");
    } else if (is_mine(name)) {
      values[name] = it.value();
    } else if (!contains(kAllToolOptions, name)) {
      throw CLI::ConversionError("config file has '" + it.key() + "', which is not an option of any recap tool");
    }  // else an option of another tool that reads the same file
  }
  if (doc.contains(section_) && doc[section_].is_object())
    for (auto it = doc[section_].begin(); it != doc[section_].end(); ++it) {
      if (is_comment(it.key())) continue;
      const std::string name = option_name(it.key());
      if (!is_mine(name))
        throw CLI::ConversionError("config file section '" + section_ + "' has '" + it.key() +
                                   "', which is not an option of this tool (see --help)");
      values[name] = it.value();
    }
  std::vector<CLI::ConfigItem> items;
  for (const auto& [name, value] : values) {
    if (value.is_null()) continue;
    CLI::ConfigItem item;
    item.name = name;
    item.inputs = as_inputs(value);
    items.push_back(std::move(item));
  }
  return items;
}

const std::vector<std::string> kAllToolOptions = {
    "attention-mask", "baseline", "batch-size", "bootstrap", "cache", "candidate-beams", "candidate-choice", "candidate-embeddings",
    "candidate-samples", "captions", "captions-per-image", "chunk-rows", "clip", "clip-weight", "columns", "command", "concepts", "config", "csv",
    "dataset", "dataset-format", "datastore", "decimals", "decoder-input-ids", "decoding", "details", "device", "dim", "dtype", "early-stopping", "ef-search", "exact",
    "files-out", "force", "from-stats", "help", "html", "ids", "ids-out", "image-embeddings", "image-ids", "image-noise", "images", "index", "input", "input-ids", "iterations",
    "java", "java-timeout", "json", "k", "keep-rejected", "key", "ks", "lambda", "length-penalty", "lm", "logits-out", "mapping", "markdown", "max-image-pixels",
    "max-input-tokens", "max-new-tokens", "meteor-jar", "method", "metric", "metrics", "min-new-tokens", "msrvtt-test-list", "no-cache",
    "no-kv-cache", "no-normalize", "no-repeat-ngram-size", "no-texts", "no-tokenize", "normalize", "nprobe", "num-beams",
    "num-return-sequences", "out", "pairs", "per-image", "pixels", "pixels-out", "precision", "prefix", "prompt",
    "prompt-template", "prompts", "provenance", "queries", "recall-k", "recall-queries", "reference-embeddings", "refs", "repetition-penalty", "results", "root", "row", "rows-out",
    "run", "sampling", "search-kernel", "seed", "select", "separator", "shard", "spice-jar", "split", "stats-out", "stop-after-batches", "stop-after-iterations", "strict",
    "temperature", "text-embeddings", "text-heads", "text-noise", "texts", "threads", "thumbnail-size", "title", "token-ids",
    "token-ids-out", "tokenizer", "top-k", "top-p", "train", "train-rows", "train-split", "val", "val-metrics", "val-split", "verbose", "video-frames", "vision-heads", "workers"};

}  // namespace recap::cli
