#include "recap/common/shard.h"

#include <map>

#include "recap/common/error.h"
#include "recap/common/seed_mix.h"

namespace recap {

bool Shard::contains(std::string_view key) const {
  return whole() || static_cast<std::int64_t>(stable_hash(key) % static_cast<std::uint64_t>(count)) == index;
}

std::string Shard::label() const { return std::to_string(index) + "/" + std::to_string(count); }

Shard parse_shard(const std::string& text) {
  const auto bad = [&] {
    return UsageError("--shard must be I/N with 0 <= I < N (zero-based, e.g. 0/4 ... 3/4), got \"" + text + "\"");
  };
  const auto slash = text.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == text.size()) throw bad();
  const std::string index = text.substr(0, slash), count = text.substr(slash + 1);
  if (index.find_first_not_of("0123456789") != std::string::npos ||
      count.find_first_not_of("0123456789") != std::string::npos || index.size() > 9 || count.size() > 9)
    throw bad();
  Shard shard{std::stoll(index), std::stoll(count)};
  if (shard.count < 1 || shard.index >= shard.count) throw bad();
  return shard;
}

std::uint64_t stable_hash(std::string_view key) {
  std::uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a 64-bit offset basis
  for (const char c : key) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;  // FNV prime
  }
  return splitmix64_finalize(h);
}

std::vector<std::size_t> select_shard(const std::vector<std::string>& keys, const Shard& shard) {
  std::vector<std::size_t> rows;
  std::map<std::string_view, std::int64_t> seen;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const std::int64_t occurrence = ++seen[keys[i]];
    const bool mine = occurrence == 1 ? shard.contains(keys[i])
                                      : shard.contains(keys[i] + '\x1f' + std::to_string(occurrence));
    if (mine) rows.push_back(i);
  }
  return rows;
}

void check_complete_shards(const std::vector<Shard>& shards, const std::vector<std::string>& sources) {
  if (shards.empty()) throw InputError("no shards were given");
  const std::int64_t count = shards.front().count;
  std::map<std::int64_t, std::string> seen;
  for (std::size_t i = 0; i < shards.size(); ++i) {
    if (shards[i].count != count)
      throw InputError(sources[i] + " is shard " + shards[i].label() + " but " + sources.front() + " is shard " +
                       shards.front().label() + ": shards of different splits cannot be combined");
    const auto [at, fresh] = seen.emplace(shards[i].index, sources[i]);
    if (!fresh)
      throw InputError(sources[i] + " and " + at->second + " are both shard " + shards[i].label() +
                       " (a shard given twice, or partial results made without --shard)");
  }
  std::string missing;
  std::int64_t missing_count = 0;
  for (std::int64_t i = 0; i < count; ++i)
    if (!seen.count(i)) {
      if (missing_count++ < 10) missing += (missing.empty() ? "" : ", ") + std::to_string(i);
    }
  if (missing_count > 0)
    throw InputError(std::to_string(missing_count) + " of " + std::to_string(count) + " shards missing (shard " +
                     missing + (missing_count > 10 ? ", ..." : "") + " of " + std::to_string(count) +
                     "): rerun them, then combine all " + std::to_string(count));
}

}  // namespace recap
