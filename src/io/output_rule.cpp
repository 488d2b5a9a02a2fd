#include "recap/io/output_rule.h"

#include <sys/stat.h>

#include <optional>
#include <string>

#include "recap/common/error.h"
#include "recap/io/atomic_file.h"

namespace recap::io {
namespace fs = std::filesystem;
namespace {

struct FileIdentity {
  dev_t device;
  ino_t inode;
  bool operator==(const FileIdentity& o) const { return device == o.device && inode == o.inode; }
};

std::optional<FileIdentity> identity(const fs::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return FileIdentity{st.st_dev, st.st_ino};
}

// Where the path leads, with links resolved as far as the path exists.
fs::path resolved(const fs::path& path) {
  std::error_code ec;
  const auto p = fs::weakly_canonical(fs::absolute(path), ec);
  return ec ? fs::absolute(path).lexically_normal() : p;
}

bool same_file(const fs::path& a, const fs::path& b) {
  const auto ia = identity(a), ib = identity(b);
  if (ia && ib) return *ia == *ib;
  return resolved(a) == resolved(b);
}

bool inside(const fs::path& file, const fs::path& directory) {
  const auto f = resolved(file), d = resolved(directory);
  auto fi = f.begin();
  for (auto di = d.begin(); di != d.end(); ++di, ++fi)
    if (fi == f.end() || *fi != *di) return false;
  return fi != f.end();
}

[[noreturn]] void collide(const fs::path& output, const std::string& what, const fs::path& other) {
  throw UsageError(output.string() + ": " + what + " " + other.string() +
                   "; choose another output (--force never overwrites an input)");
}

}  // namespace

void check_output_plan(const OutputPlan& plan) {
  std::vector<fs::path> outputs, directories;
  for (const auto& o : plan.outputs)
    if (!o.empty()) outputs.push_back(o);
  for (const auto& o : plan.resumable)
    if (!o.empty()) outputs.push_back(o);
  for (const auto& d : plan.output_directories)
    if (!d.empty()) directories.push_back(d);

  for (const auto& input : plan.inputs) {
    if (input.empty()) continue;
    for (const auto& d : directories)
      if (same_file(d, input) || inside(input, d)) collide(d, "would replace the input", input);
    // An output that exists already may be an input, or a file inside an input folder (a
    // run directory, a model folder): compare it with each of them by identity.
    for (const auto& o : outputs) {
      const auto output_identity = identity(o);
      if (!output_identity) continue;  // not written yet, so not an input
      if (identity(input) == output_identity) collide(o, "is also an input:", input);
      std::error_code ec;
      if (!fs::is_directory(input, ec)) continue;
      for (auto it = fs::recursive_directory_iterator(input, fs::directory_options::skip_permission_denied, ec);
           !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
        if (it->is_regular_file(ec) && identity(it->path()) == output_identity)
          collide(o, "is also an input:", it->path());
    }
  }
  std::vector<fs::path> all = outputs;
  all.insert(all.end(), directories.begin(), directories.end());
  for (std::size_t i = 0; i < all.size(); ++i)
    for (std::size_t j = i + 1; j < all.size(); ++j)
      if (same_file(all[i], all[j]) || inside(all[j], all[i]) || inside(all[i], all[j]))
        collide(all[j], "is the same output as", all[i]);
  for (const auto& o : plan.outputs)
    if (!o.empty()) check_output_path(o, plan.force);
}

}  // namespace recap::io
