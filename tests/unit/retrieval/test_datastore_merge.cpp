// Merging shards' datastores: rows copied as they are, into the whole data set's order
// when every part carries order keys, one after another otherwise; overlaps refused.
#include <gtest/gtest.h>

#include "expect_error.h"
#include "recap/common/error.h"
#include "recap/io/json_file.h"
#include "recap/io/npy.h"
#include "recap/retrieval/datastore.h"
#include "recap/retrieval/datastore_merge.h"
#include "test_support.h"

using namespace recap;
namespace fs = std::filesystem;

namespace {

// A datastore of `captions` whose row i is the unit vector of axis values[i] (d = 4),
// with order keys (position, caption) when given.
fs::path make_part(const fs::path& dir, const std::vector<std::string>& captions, const std::vector<int>& axes,
                   const std::vector<std::int64_t>& keys = {}) {
  fs::create_directories(dir);
  std::vector<nlohmann::json> records;
  std::vector<float> rows(captions.size() * 4, 0.0f);
  for (std::size_t i = 0; i < captions.size(); ++i) {
    records.push_back({{"caption", captions[i]}});
    rows[i * 4 + static_cast<std::size_t>(axes[i])] = 1.0f;
  }
  io::write_jsonl(dir / "captions.jsonl", records);
  io::write_npy(dir / "embeddings.npy", rows.data(), {static_cast<std::int64_t>(captions.size()), 4});
  if (!keys.empty())
    io::write_npy(dir / retrieval::kMergeOrderFile, keys.data(), {static_cast<std::int64_t>(keys.size() / 2), 2});
  return dir;
}

std::vector<std::string> captions_of(const retrieval::Datastore& store) {
  std::vector<std::string> out;
  for (std::int64_t i = 0; i < store.size(); ++i) out.push_back(store.caption(i));
  return out;
}

TEST(DatastoreMerge, InterleavesShardsBackIntoTheWholeOrder) {
  test::TempDir tmp;
  // The whole: image 0 (captions a, b), image 1 (c), image 2 (d, e); shard A had images 0 and 2.
  const auto a = make_part(tmp / "a", {"a", "b", "d", "e"}, {0, 1, 3, 0}, {0, 0, 0, 1, 2, 0, 2, 1});
  const auto b = make_part(tmp / "b", {"c"}, {2}, {1, 0});
  EXPECT_EQ(retrieval::merge_datastores(tmp / "merged", {b, a}), 5);
  const auto merged = retrieval::Datastore::open(tmp / "merged");
  EXPECT_EQ(captions_of(merged), (std::vector<std::string>{"a", "b", "c", "d", "e"}));
  const std::vector<int> axes = {0, 1, 2, 3, 0};
  for (std::int64_t i = 0; i < 5; ++i)
    for (int c = 0; c < 4; ++c) EXPECT_EQ(merged.embeddings()[i * 4 + c], c == axes[std::size_t(i)] ? 1.0f : 0.0f);
}

TEST(DatastoreMerge, WithoutKeysPartsFollowOneAnother) {
  test::TempDir tmp;
  const auto a = make_part(tmp / "a", {"x", "y"}, {0, 1});
  const auto b = make_part(tmp / "b", {"z"}, {2}, {0, 0});  // one part without keys: order as given
  retrieval::merge_datastores(tmp / "merged", {b, a});
  EXPECT_EQ(captions_of(retrieval::Datastore::open(tmp / "merged")), (std::vector<std::string>{"z", "x", "y"}));
}

TEST(DatastoreMerge, RefusesOverlapsAndMismatchedParts) {
  test::TempDir tmp;
  const auto a = make_part(tmp / "a", {"a", "b"}, {0, 1}, {0, 0, 1, 0});
  const auto b = make_part(tmp / "b", {"c"}, {2}, {1, 0});
  test::expect_error<InputError>([&] { retrieval::merge_datastores(tmp / "m1", {a, b}); }, "the shards overlap");
  const auto bad_keys = make_part(tmp / "k", {"c"}, {2}, {1, 0, 2, 0});
  test::expect_error<InputError>([&] { retrieval::merge_datastores(tmp / "m2", {a, bad_keys}); }, "order keys");
  fs::create_directories(tmp / "wide");
  io::write_jsonl(tmp / "wide" / "captions.jsonl", {{{"caption", "w"}}});
  const std::vector<float> row(8, 0.5f);
  io::write_npy(tmp / "wide" / "embeddings.npy", row.data(), {1, 8});
  test::expect_error<InputError>([&] { retrieval::merge_datastores(tmp / "m3", {a, tmp / "wide"}); }, "8-d embeddings");
}

}  // namespace
