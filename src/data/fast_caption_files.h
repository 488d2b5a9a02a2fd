#pragma once
// The two files every scoring run reads, COCO annotations and COCO results, parsed with
// simdjson: ten times nlohmann/json's speed, and it builds no document tree to free. This is a fast
// path only. It returns nullopt for anything it does not take exactly as the general readers
// (captions.cpp) would: other formats, a malformed entry, invalid UTF-8 anywhere, an id
// that is neither a string nor an integer, a repeated image id. Those files then go through
// the general reader, which gives the result or the error message it always gave.
// (Private to the data layer.)
#include <filesystem>
#include <optional>
#include <vector>

#include "recap/data/captions.h"

namespace recap::data {

// COCO caption annotations, {"annotations": [{"image_id", "caption"}, ...]}. With
// `format_known` (--dataset-format coco) the file is not checked for being another format.
std::optional<ReferenceSet> read_coco_references_fast(const std::filesystem::path& path, bool format_known);

// COCO results, [{"image_id", "caption"}, ...].
std::optional<std::vector<CaptionResult>> read_results_fast(const std::filesystem::path& path);

}  // namespace recap::data
