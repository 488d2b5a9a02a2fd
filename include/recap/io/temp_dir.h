#pragma once
// A fresh directory under the system temp dir, removed with everything in it when the
// object dies (scratch space for subprocess inputs and outputs).
#include <filesystem>
#include <string>

namespace recap::io {

class TemporaryDirectory {
 public:
  explicit TemporaryDirectory(const std::string& prefix = "recap");
  ~TemporaryDirectory();
  TemporaryDirectory(const TemporaryDirectory&) = delete;
  TemporaryDirectory& operator=(const TemporaryDirectory&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

}  // namespace recap::io
