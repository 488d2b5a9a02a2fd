#pragma once
// Deterministic slices of a data set, one job per slice (a cluster's job array): the item
// with key K (an image id, a caption) belongs to shard stable_hash(K) mod N. The slice
// depends on the key alone, so the N slices are disjoint, cover everything, and stay the
// same when the files are listed in another order or on another machine.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace recap {

struct Shard {
  std::int64_t index = 0;  // 0 <= index < count
  std::int64_t count = 1;  // 1: the whole data set

  bool whole() const { return count == 1; }
  bool contains(std::string_view key) const;
  std::string label() const;  // "I/N"
  bool operator==(const Shard& other) const { return index == other.index && count == other.count; }
};

// "I/N" with 0 <= I < N (zero-based, like Slurm's SLURM_ARRAY_TASK_ID); UsageError otherwise.
Shard parse_shard(const std::string& text);

// A 64-bit hash of the bytes of `key` that is the same on every machine and in every
// build: FNV-1a, then splitmix64's finaliser so that the low bits (taken mod N) mix well.
std::uint64_t stable_hash(std::string_view key);

// The positions of `keys` that belong to `shard`, in order. Repeats of one key are told
// apart by their count (the second "a dog" is keyed "a dog" and 2), so they spread over
// the shards like any other keys, and a slice holds the same lines (as a multiset)
// whatever order the list is in.
std::vector<std::size_t> select_shard(const std::vector<std::string>& keys, const Shard& shard);

// Checks that the shards of a set of partial results (shard i came from sources[i]) are
// all slices of one count N and name each of 0..N-1 exactly once. InputError naming the
// sources of a duplicate, the missing indices, or the source whose count differs.
void check_complete_shards(const std::vector<Shard>& shards, const std::vector<std::string>& sources);

}  // namespace recap
