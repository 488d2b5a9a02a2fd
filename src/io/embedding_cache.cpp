#include "recap/io/embedding_cache.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "recap/common/error.h"
#include "recap/io/json_file.h"

namespace fs = std::filesystem;

namespace recap::io {
namespace {

constexpr std::size_t kHeaderBytes = 16;  // key + checksum

std::uint64_t checksum(std::uint64_t key, const float* row, int dim) {
  return hash64(std::string_view(reinterpret_cast<const char*>(row), sizeof(float) * dim), key);
}

class FileLock {
 public:
  explicit FileLock(int fd) : fd_(fd) { ::flock(fd_, LOCK_EX); }
  ~FileLock() { ::flock(fd_, LOCK_UN); }

 private:
  int fd_;
};

void write_all(int fd, const char* data, std::size_t size, const fs::path& path) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error(ExitCode::internal, path.string() + ": cannot append to the embedding cache: " + std::strerror(errno));
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
}

}  // namespace

std::uint64_t hash64(std::string_view data, std::uint64_t seed) {
  std::uint64_t h = 0xcbf29ce484222325ULL ^ (seed * 0x9E3779B97F4A7C15ULL);
  for (unsigned char c : data) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  // splitmix64 finaliser: FNV alone mixes the last bytes poorly.
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return h;
}

std::string hex64(std::uint64_t value) {
  char buffer[17];
  std::snprintf(buffer, sizeof buffer, "%016llx", static_cast<unsigned long long>(value));
  return buffer;
}

std::string file_identity(const fs::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw InputError(path.string() + ": cannot stat: " + std::strerror(errno));
  std::error_code ec;
  const fs::path absolute = fs::absolute(path, ec);
  // With the first 4 KiB of content: a file rewritten within the same second at the same
  // size (a re-export of a dataset) is not mistaken for the old one.
  std::string head(4096, '\0');
  std::ifstream in(path, std::ios::binary);
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<std::size_t>(in.gcount()));
  return (ec ? path : absolute).lexically_normal().string() + "|" + std::to_string(st.st_size) + "|" +
         std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + "|" + hex64(hash64(head, 0));
}

fs::path default_cache_root() {
  if (const char* env = std::getenv("RECAP_CACHE"); env && *env) return env;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return fs::path(xdg) / "recap";
  if (const char* home = std::getenv("HOME"); home && *home) return fs::path(home) / ".cache/recap";
  return fs::temp_directory_path() / "recap-cache";
}

EmbeddingCache::EmbeddingCache(const fs::path& root, const nlohmann::json& description, int dim) : dim_(dim) {
  if (dim <= 0) throw std::invalid_argument("EmbeddingCache: dim must be positive");
  folder_ = root / hex64(hash64(description.dump()));
  std::error_code ec;
  fs::create_directories(folder_, ec);
  if (ec) throw UsageError(folder_.string() + ": cannot create the embedding cache folder: " + ec.message());
  const fs::path file = folder_ / "embeddings.bin";
  fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) throw UsageError(file.string() + ": cannot open the embedding cache: " + std::strerror(errno));
  if (!fs::exists(folder_ / "meta.json")) {
    nlohmann::json meta = description;
    meta["dim"] = dim;
    meta["record"] = "u64 key, u64 checksum, dim x float32 (little-endian)";
    write_json(folder_ / "meta.json", meta);
  }
  FileLock lock(fd_);
  struct stat st {};
  ::fstat(fd_, &st);
  const std::size_t record = kHeaderBytes + sizeof(float) * dim_;
  std::vector<char> buffer(record);
  std::size_t good = 0;
  for (std::size_t offset = 0; offset + record <= static_cast<std::size_t>(st.st_size); offset += record) {
    if (::pread(fd_, buffer.data(), record, static_cast<off_t>(offset)) != static_cast<ssize_t>(record)) break;
    std::uint64_t key, sum;
    std::memcpy(&key, buffer.data(), 8);
    std::memcpy(&sum, buffer.data() + 8, 8);
    std::vector<float> row(dim_);
    std::memcpy(row.data(), buffer.data() + kHeaderBytes, sizeof(float) * dim_);
    if (checksum(key, row.data(), dim_) != sum) break;
    index_[key] = std::move(row);
    good = offset + record;
  }
  // A torn or corrupt tail (an interrupted append) is cut so that appends stay aligned.
  if (good != static_cast<std::size_t>(st.st_size) && ::ftruncate(fd_, static_cast<off_t>(good)) != 0) {
    throw UsageError(file.string() + ": cannot repair the embedding cache: " + std::strerror(errno));
  }
}

EmbeddingCache::~EmbeddingCache() {
  if (fd_ >= 0) ::close(fd_);
}

bool EmbeddingCache::lookup(std::uint64_t key, float* out) const {
  auto it = index_.find(key);
  if (it == index_.end()) return false;
  std::memcpy(out, it->second.data(), sizeof(float) * dim_);
  return true;
}

void EmbeddingCache::insert(const std::vector<std::uint64_t>& keys, const float* rows) {
  if (keys.empty()) return;
  const std::size_t record = kHeaderBytes + sizeof(float) * dim_;
  std::vector<char> buffer(record * keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const float* row = rows + i * dim_;
    const std::uint64_t sum = checksum(keys[i], row, dim_);
    char* r = buffer.data() + i * record;
    std::memcpy(r, &keys[i], 8);
    std::memcpy(r + 8, &sum, 8);
    std::memcpy(r + kHeaderBytes, row, sizeof(float) * dim_);
    index_[keys[i]].assign(row, row + dim_);
  }
  FileLock lock(fd_);
  write_all(fd_, buffer.data(), buffer.size(), folder_ / "embeddings.bin");
  ::fdatasync(fd_);
}

}  // namespace recap::io
