#pragma once
// The language-model half of ReCap, without models: the prompt built from the retrieved
// captions, candidate clean-up and de-duplication, the choice by aligned cosine, and the
// per-image JSON record that --details, the HTML gallery and resuming all read.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace recap::caption {

// SmallCap's prompt, which ReCap's description matches; this project's default.
inline constexpr const char* kDefaultPromptTemplate = "Similar images show: {captions} This image shows:";

// UsageError unless `tmpl` contains "{captions}" exactly once.
void check_prompt_template(const std::string& tmpl);
// `tmpl` with {captions} replaced by the captions joined with `separator`.
std::string build_prompt(const std::string& tmpl, const std::vector<std::string>& captions, const std::string& separator);

struct Candidate {
  std::string text;
  std::string source;  // "beam" or "sample"
  float score = 0;     // cosine of its CLIP text embedding with the mapped image embedding
};

// Whitespace trimmed and collapsed; empty candidates dropped; duplicates (same text up to
// case, surrounding whitespace and a final period) removed, the first kept.
std::vector<Candidate> dedupe_candidates(const std::vector<Candidate>& candidates);

// Index of the highest score (the first on ties); throws when empty.
std::size_t best_candidate(const std::vector<Candidate>& candidates);

}  // namespace recap::caption
