#include "recap/caption/lm_prompt.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "recap/common/error.h"

namespace recap::caption {
namespace {

constexpr const char* kSlot = "{captions}";

std::string collapse(const std::string& s) {
  std::string out;
  bool space = false;
  for (const char c : s) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

}  // namespace

void check_prompt_template(const std::string& tmpl) {
  const auto first = tmpl.find(kSlot);
  if (first == std::string::npos) {
    throw UsageError("prompt template \"" + tmpl + "\" has no {captions} slot for the retrieved captions");
  }
  if (tmpl.find(kSlot, first + 1) != std::string::npos) {
    throw UsageError("prompt template \"" + tmpl + "\" has {captions} more than once");
  }
}

std::string build_prompt(const std::string& tmpl, const std::vector<std::string>& captions, const std::string& separator) {
  check_prompt_template(tmpl);
  std::string joined;
  for (std::size_t i = 0; i < captions.size(); ++i) joined += (i ? separator : "") + captions[i];
  std::string out = tmpl;
  out.replace(out.find(kSlot), std::string(kSlot).size(), joined);
  return out;
}

std::vector<Candidate> dedupe_candidates(const std::vector<Candidate>& candidates) {
  std::vector<Candidate> out;
  std::set<std::string> seen;
  for (const auto& c : candidates) {
    Candidate clean = c;
    clean.text = collapse(c.text);
    if (clean.text.empty()) continue;
    std::string key = clean.text;
    std::transform(key.begin(), key.end(), key.begin(), [](unsigned char ch) { return std::tolower(ch); });
    while (!key.empty() && (key.back() == '.' || key.back() == ' ')) key.pop_back();
    if (key.empty() || !seen.insert(key).second) continue;
    out.push_back(std::move(clean));
  }
  return out;
}

std::size_t best_candidate(const std::vector<Candidate>& candidates) {
  if (candidates.empty()) throw Error(ExitCode::internal, "no candidates to choose from");
  std::size_t best = 0;
  for (std::size_t i = 1; i < candidates.size(); ++i)
    if (candidates[i].score > candidates[best].score) best = i;
  return best;
}

}  // namespace recap::caption
