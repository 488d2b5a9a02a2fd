#pragma once
// One datastore from the datastores of shards (recap-fit --from-stats): the captions and
// embedding rows of each part, in the order given, copied as they are (each part's rows
// were normalised when it was written), so the merged store holds exactly the rows of
// the parts.
#include <filesystem>
#include <vector>

namespace recap::retrieval {

// Writes datastore/ files into `dir` (created if needed). InputError naming the part
// when one is not a datastore or is damaged, or when the parts' dimensions differ.
// Returns the number of rows written.
std::int64_t merge_datastores(const std::filesystem::path& dir, const std::vector<std::filesystem::path>& parts);

}  // namespace recap::retrieval
