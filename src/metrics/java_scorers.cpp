#include "recap/metrics/java_scorers.h"

#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "recap/common/child_process.h"
#include "recap/common/error.h"
#include "recap/io/json_file.h"
#include "recap/io/temp_dir.h"

namespace recap::metrics {
namespace {

// The reason a Java scorer cannot run, or "" when it can.
std::string unavailable_reason(const JavaScorerOptions& options, const std::string& name) {
  if (options.jar.empty()) return "no --" + name + "-jar given";
  if (!std::filesystem::exists(options.jar)) return options.jar + " does not exist";
  if (options.java.find('/') != std::string::npos)
    return ::access(options.java.c_str(), X_OK) == 0 ? "" : options.java + " is not an executable";
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "");
  for (std::string dir; std::getline(dirs, dir, ':');)
    if (!dir.empty() && ::access((std::filesystem::path(dir) / options.java).c_str(), X_OK) == 0) return "";
  return "'" + options.java + "' (Java) is not on PATH";
}

double parse_number(const std::string& text, const std::string& what) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (end == text.c_str()) throw InputError("METEOR: unexpected answer '" + text.substr(0, 80) + "' for " + what);
  return v;
}

std::string clean_for_meteor(std::string text) {
  for (std::size_t p; (p = text.find("|||")) != std::string::npos;) text.erase(p, 3);
  for (std::size_t p; (p = text.find("  ")) != std::string::npos;) text.erase(p, 1);
  return text;
}

}  // namespace

JavaScore meteor(const std::vector<ImageCaptions>& images, const std::vector<std::string>& image_names,
                 const JavaScorerOptions& options) {
  JavaScore result;
  result.reason = unavailable_reason(options, "meteor");
  if (!result.reason.empty()) return result;
  ChildProcess child({options.java, "-jar", "-Xmx2G", options.jar, "-", "-", "-stdio", "-l", "en", "-norm"});
  std::string eval = "EVAL";
  for (std::size_t i = 0; i < images.size(); ++i) {
    std::string line = "SCORE";
    for (const auto& r : images[i].references) line += " ||| " + clean_for_meteor(r);
    line += " ||| " + clean_for_meteor(images[i].candidate);
    try {
      child.write_line(line, options.timeout_seconds);
      eval += " ||| " + child.read_line(options.timeout_seconds);
    } catch (const std::exception& e) {
      throw InputError("METEOR failed on image " + image_names[i] + " (caption '" + images[i].candidate.substr(0, 80) +
                       "'): " + e.what());
    }
  }
  try {
    child.write_line(eval, options.timeout_seconds);
    for (std::size_t i = 0; i < images.size(); ++i)
      result.score.per_image.push_back(parse_number(child.read_line(options.timeout_seconds), "image " + image_names[i]));
    result.score.corpus = parse_number(child.read_line(options.timeout_seconds), "the corpus score");
    child.finish(options.timeout_seconds);
  } catch (const InputError&) {
    throw;
  } catch (const std::exception& e) {
    throw InputError(std::string("METEOR failed while scoring the corpus: ") + e.what());
  }
  result.available = true;
  return result;
}

JavaScore spice(const std::vector<ImageCaptions>& images, const std::vector<std::string>& image_names,
                const JavaScorerOptions& options) {
  JavaScore result;
  result.reason = unavailable_reason(options, "spice");
  if (!result.reason.empty()) return result;
  const io::TemporaryDirectory scratch("recap-spice");
  const std::filesystem::path& dir = scratch.path();
  nlohmann::json input = nlohmann::json::array();
  for (std::size_t i = 0; i < images.size(); ++i)
    input.push_back({{"image_id", image_names[i]}, {"test", images[i].candidate}, {"refs", images[i].references}});
  io::write_json(dir / "in.json", input, -1);
  std::vector<std::string> argv = {options.java, "-jar", "-Xmx8G", options.jar, (dir / "in.json").string(), "-out",
                                   (dir / "out.json").string(), "-subset", "-silent"};
  if (!options.cache_dir.empty()) argv.insert(argv.begin() + 5, {"-cache", options.cache_dir});
  ChildProcess child(argv);
  const double limit = options.timeout_seconds + 0.5 * static_cast<double>(images.size());
  try {
    while (true) child.read_line(limit);  // drain its output until it exits
  } catch (const ChildTimeout&) {
    throw InputError("SPICE did not finish within " + std::to_string(static_cast<int>(limit)) + " s");
  } catch (const std::exception&) {
    // end of output: the jar has exited
  }
  const int status = child.finish(10);
  if (status != 0 || !std::filesystem::exists(dir / "out.json"))
    throw InputError("SPICE failed (exit " + std::to_string(status) + "): " + child.stderr_tail());
  const auto out = io::read_json(dir / "out.json");
  std::map<std::string, double> by_id;
  for (const auto& item : out) {
    const auto& id = item.at("image_id");
    const auto& f = item.at("scores").at("All").at("f");
    by_id[id.is_string() ? id.get<std::string>() : id.dump()] = f.is_number() ? f.get<double>() : std::nan("");
  }
  double sum = 0;
  for (const auto& name : image_names) {
    auto it = by_id.find(name);
    if (it == by_id.end()) throw InputError("SPICE returned no score for image " + name);
    result.score.per_image.push_back(it->second);
    sum += it->second;
  }
  result.score.corpus = image_names.empty() ? 0 : sum / static_cast<double>(image_names.size());
  result.available = true;
  return result;
}

}  // namespace recap::metrics
