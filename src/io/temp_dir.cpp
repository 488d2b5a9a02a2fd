#include "recap/io/temp_dir.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "recap/common/error.h"

namespace recap::io {

TemporaryDirectory::TemporaryDirectory(const std::string& prefix) {
  std::string pattern = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr)
    throw Error(ExitCode::internal, "cannot create a temporary directory: " + std::string(std::strerror(errno)));
  path_ = pattern;
}

TemporaryDirectory::~TemporaryDirectory() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

}  // namespace recap::io
