#pragma once
// The two files every scoring run reads, the references (COCO annotations or a Karpathy
// split file) and COCO results, parsed with simdjson: ten times nlohmann/json's speed, and
// no document tree to build and free. This is a fast path only. It returns nullopt for
// anything it does not take exactly as the general readers (captions.cpp) would: other
// formats, a malformed entry, invalid UTF-8 anywhere, an id that is neither a string nor
// an integer, a repeated result id, a split with no images. Those files then go through
// the general reader, which gives the result or the error message it always gave.
// (Private to the data layer.)
#include <filesystem>
#include <optional>
#include <vector>

#include "recap/data/captions.h"

namespace recap::data {

// References in COCO annotations or a Karpathy split file; `format` and `split` as
// read_references takes them (format "auto" tells the two apart as it does).
std::optional<ReferenceSet> read_references_fast(const std::filesystem::path& path, std::string format,
                                                 const std::optional<std::string>& split);

// COCO results, [{"image_id", "caption"}, ...].
std::optional<std::vector<CaptionResult>> read_results_fast(const std::filesystem::path& path);

}  // namespace recap::data
