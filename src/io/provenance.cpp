#include "recap/io/provenance.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <vector>

#include "recap/common/error.h"

namespace recap::io {
namespace {

std::string format_utc(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

}  // namespace

nlohmann::json describe_file(const std::filesystem::path& path) {
  nlohmann::json out = {{"path", std::filesystem::absolute(path).lexically_normal().string()}};
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    out["bytes"] = static_cast<std::int64_t>(st.st_size);
    out["modified"] = format_utc(st.st_mtime);
  }
  return out;
}

std::string utc_timestamp() { return format_utc(std::time(nullptr)); }

namespace {

struct Fnv1a {
  std::uint64_t state = 1469598103934665603ull;
  void add(const void* data, std::size_t size) {
    const auto* bytes = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < size; ++i) state = (state ^ bytes[i]) * 1099511628211ull;
  }
  void add(const std::string& text) { add(text.data(), text.size() + 1); }  // with the terminator: "ab"+"c" != "a"+"bc"
  std::string hex() const {
    char out[17];
    std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(state));
    return out;
  }
};

std::int64_t modified_ns(const struct stat& st) {
  return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

// Hashes up to `limit` bytes of the file; the whole file when limit is 0.
std::string hash_file(const std::filesystem::path& path, std::uint64_t limit) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path.string() + ": cannot open for reading");
  Fnv1a hash;
  std::vector<char> buffer(1 << 16);
  std::uint64_t done = 0;
  while (in && (limit == 0 || done < limit)) {
    const auto want = limit == 0 ? buffer.size() : std::min<std::uint64_t>(buffer.size(), limit - done);
    in.read(buffer.data(), static_cast<std::streamsize>(want));
    hash.add(buffer.data(), static_cast<std::size_t>(in.gcount()));
    done += static_cast<std::uint64_t>(in.gcount());
  }
  return hash.hex();
}

}  // namespace

nlohmann::json content_identity(const std::filesystem::path& path) {
  struct stat st {};
  if (path.empty() || ::stat(path.c_str(), &st) != 0) return nullptr;
  if (!S_ISDIR(st.st_mode))
    return {{"bytes", static_cast<std::int64_t>(st.st_size)}, {"modified_ns", modified_ns(st)},
            {"head", hash_file(path, 1 << 20)}};
  std::vector<std::pair<std::string, std::string>> entries;  // relative path, "size mtime"
  for (const auto& entry : std::filesystem::recursive_directory_iterator(path)) {
    struct stat f {};
    if (!entry.is_regular_file() || ::stat(entry.path().c_str(), &f) != 0) continue;
    entries.emplace_back(std::filesystem::relative(entry.path(), path).generic_string(),
                         std::to_string(f.st_size) + " " + std::to_string(modified_ns(f)));
  }
  std::sort(entries.begin(), entries.end());
  Fnv1a hash;
  for (const auto& [name, stamp] : entries) {
    hash.add(name);
    hash.add(stamp);
  }
  return {{"files", entries.size()}, {"listing", hash.hex()}};
}

std::string file_hash(const std::filesystem::path& path) { return hash_file(path, 0); }

nlohmann::json fingerprint_path(const std::filesystem::path& path) {
  namespace fs = std::filesystem;
  nlohmann::json out = {{"path", fs::absolute(path).lexically_normal().string()}};
  auto describe = [](const fs::path& file) {
    return nlohmann::json{{"bytes", static_cast<std::int64_t>(fs::file_size(file))}, {"fnv1a64", file_hash(file)}};
  };
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) {
    out.update(describe(path));
  } else if (fs::is_directory(path, ec)) {
    out["files"] = nlohmann::json::object();
    for (const auto& entry : fs::directory_iterator(path))
      if (entry.is_regular_file()) out["files"][entry.path().filename().string()] = describe(entry.path());
  } else {
    throw InputError(path.string() + ": no such file or folder");
  }
  return out;
}

}  // namespace recap::io
