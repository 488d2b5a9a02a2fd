#include "recap/io/folder_walk.h"

#include <sys/stat.h>

#include <algorithm>
#include <set>
#include <utility>

#include "recap/common/error.h"

namespace recap::io {
namespace fs = std::filesystem;

std::vector<fs::path> files_under(const fs::path& root) {
  std::set<std::pair<dev_t, ino_t>> entered;
  auto first_visit = [&](const fs::path& dir) {
    struct stat st {};
    return ::stat(dir.c_str(), &st) == 0 && entered.emplace(st.st_dev, st.st_ino).second;
  };
  first_visit(root);
  std::vector<fs::path> files;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::follow_directory_symlink, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_directory(ec)) {
      if (!first_visit(it->path())) it.disable_recursion_pending();
    } else if (it->is_regular_file(ec)) {
      files.push_back(it->path());
    }
  }
  if (ec) throw InputError(root.string() + ": cannot list folder: " + ec.message());
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace recap::io
