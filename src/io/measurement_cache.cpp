#include "recap/io/measurement_cache.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <fstream>

#include "recap/io/atomic_file.h"
#include "recap/io/embedding_cache.h"

namespace fs = std::filesystem;

namespace recap::io {
namespace {

nlohmann::json read_all(const fs::path& file) {
  std::ifstream in(file);
  if (!in) return nlohmann::json::object();
  const auto doc = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  return doc.is_object() ? doc : nlohmann::json::object();
}

// An exclusive flock on `<file>.lock` for one scope; holds nothing when the lock file
// cannot be made (the caller then carries on unlocked).
class FileLock {
 public:
  explicit FileLock(const fs::path& file) {
    std::error_code ec;
    fs::create_directories(file.parent_path(), ec);
    fd_ = ::open((file.string() + ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ >= 0 && ::flock(fd_, LOCK_EX) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~FileLock() {
    if (fd_ >= 0) ::close(fd_);  // closing releases the lock
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace

std::optional<nlohmann::json> load_measurement(const std::string& file_name, const std::string& key) {
  const auto all = read_all(default_cache_root() / file_name);
  if (!all.contains(key) || !all[key].is_object()) return std::nullopt;
  return all[key];
}

void store_measurement(const std::string& file_name, const std::string& key, const nlohmann::json& entry) {
  try {
    const fs::path file = default_cache_root() / file_name;
    auto all = read_all(file);
    all[key] = entry;
    fs::create_directories(file.parent_path());
    write_text_file(file, all.dump(2) + "\n");
  } catch (const std::exception&) {
  }
}

nlohmann::json measure_once(const std::string& file_name, const std::string& key,
                            const std::function<bool(const nlohmann::json&)>& usable,
                            const std::function<nlohmann::json()>& measure) {
  if (auto cached = load_measurement(file_name, key); cached && usable(*cached)) return *cached;
  const FileLock lock(default_cache_root() / file_name);
  // Another process may have measured while this one waited for the lock.
  if (auto cached = load_measurement(file_name, key); cached && usable(*cached)) return *cached;
  auto entry = measure();
  store_measurement(file_name, key, entry);
  return entry;
}

}  // namespace recap::io
