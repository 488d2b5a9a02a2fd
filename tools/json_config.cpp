#include "json_config.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

namespace recap::cli {
namespace {

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
  std::map<std::string, nlohmann::json> values;
  for (auto it = doc.begin(); it != doc.end(); ++it)
    if (!it.value().is_object()) values[option_name(it.key())] = it.value();
  if (doc.contains(section_) && doc[section_].is_object())
    for (auto it = doc[section_].begin(); it != doc[section_].end(); ++it)
      values[option_name(it.key())] = it.value();
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

}  // namespace recap::cli
