#pragma once
// One datastore from the datastores of shards (recap-fit --from-stats): the captions and
// embedding rows of each part, copied as they are (each part's rows were normalised when
// it was written), so the merged store holds exactly the rows of the parts. When every
// part has an order file (each row's place in the whole data set: two int64 per row, its
// image's position and the caption's among the image's), rows are merged into that
// order, which makes the merged store the one an unsharded run writes, byte for byte
// when the embeddings are; otherwise the parts follow one another in the order given.
#include <cstdint>
#include <filesystem>
#include <vector>

namespace recap::retrieval {

inline constexpr const char* kMergeOrderFile = "order.npy";

// Writes datastore/ files into `dir` (created if needed). InputError naming the part
// when one is not a datastore or is damaged, or when the parts' dimensions differ.
// Returns the number of rows written.
std::int64_t merge_datastores(const std::filesystem::path& dir, const std::vector<std::filesystem::path>& parts);

}  // namespace recap::retrieval
