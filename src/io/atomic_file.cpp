#include "recap/io/atomic_file.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <system_error>
#include <vector>

#include "recap/common/error.h"

namespace recap::io {
namespace {

std::filesystem::path parent_or_dot(const std::filesystem::path& p) {
  auto parent = p.parent_path();
  return parent.empty() ? std::filesystem::path(".") : parent;
}

std::filesystem::path sibling_name(const std::filesystem::path& target, const std::string& tag) {
  return parent_or_dot(target) / ("." + target.filename().string() + "." + tag + "-" + std::to_string(::getpid()));
}

// Every directory StagingDirectory commits holds this file, listing the files it wrote.
// --force replaces a directory only when it holds this list and nothing besides it.
constexpr const char* kManifest = ".recap-output";

std::vector<std::string> relative_files(const std::filesystem::path& dir) {
  std::vector<std::string> files;
  for (auto it = std::filesystem::recursive_directory_iterator(dir); it != std::filesystem::recursive_directory_iterator(); ++it)
    if (!it->is_directory() || it->is_symlink()) files.push_back(std::filesystem::relative(it->path(), dir).generic_string());
  std::sort(files.begin(), files.end());
  return files;
}

// Throws unless `target` is a directory that recap wrote and nobody has added to since.
void check_replaceable(const std::filesystem::path& target) {
  const std::string advice = "; --force replaces only a directory recap wrote. Move it away or choose another output";
  if (std::filesystem::is_symlink(target))
    throw UsageError(target.string() + ": is a symbolic link, not a directory recap wrote" + advice);
  if (!std::filesystem::is_directory(target))
    throw UsageError(target.string() + ": exists and is not a directory" + advice);
  std::ifstream manifest(target / kManifest);
  if (!manifest) throw UsageError(target.string() + ": has no " + kManifest + " list, so recap did not write it" + advice);
  std::set<std::string> written;
  for (std::string line; std::getline(manifest, line);)
    if (!line.empty()) written.insert(line);
  for (const auto& file : relative_files(target))
    if (file != kManifest && written.count(file) == 0)
      throw UsageError(target.string() + ": holds " + file + ", which recap did not write there" + advice);
}

}  // namespace

AtomicFile::AtomicFile(const std::filesystem::path& target)
    : target_(target), temporary_(sibling_name(target, "tmp")) {
  file_ = std::fopen(temporary_.c_str(), "wb");
  if (file_ == nullptr)
    throw UsageError(target.string() + ": cannot write: " + std::strerror(errno));
}

AtomicFile::~AtomicFile() {
  if (file_ != nullptr) {
    std::fclose(file_);
    std::error_code ignored;
    std::filesystem::remove(temporary_, ignored);
  }
}

void AtomicFile::write(const void* data, std::size_t size) {
  if (size > 0 && std::fwrite(data, 1, size, file_) != size) failed_ = true;
}

void AtomicFile::commit() {
  bool ok = !failed_ && std::fflush(file_) == 0 && ::fsync(::fileno(file_)) == 0;
  const int err = errno;
  ok = (std::fclose(file_) == 0) && ok;
  file_ = nullptr;
  std::error_code ec;
  if (!ok) {
    std::filesystem::remove(temporary_, ec);
    throw Error(ExitCode::internal, target_.string() + ": write failed: " + std::strerror(err));
  }
  std::filesystem::rename(temporary_, target_, ec);
  if (ec) {
    std::filesystem::remove(temporary_, ec);
    throw Error(ExitCode::internal, target_.string() + ": cannot move into place: " + ec.message());
  }
}

void write_text_file(const std::filesystem::path& path, std::string_view content) {
  AtomicFile out(path);
  out.write(content);
  out.commit();
}

namespace {

// The checks every output shares: it may exist only with force, and its directory must
// exist and be writable.
void check_can_write(const std::filesystem::path& path, bool force) {
  std::error_code ec;
  if (std::filesystem::exists(std::filesystem::symlink_status(path, ec)) && !force)
    throw UsageError(path.string() + ": already exists; pass --force to overwrite it");
  const auto parent = parent_or_dot(path);
  if (!std::filesystem::is_directory(parent, ec))
    throw UsageError(path.string() + ": parent directory " + parent.string() + " does not exist");
  if (::access(parent.c_str(), W_OK) != 0)
    throw UsageError(path.string() + ": directory " + parent.string() + " is not writable");
}

}  // namespace

void add_to_output_listing(const std::filesystem::path& dir, const std::filesystem::path& sub) {
  std::ifstream in(dir / kManifest);
  if (!in) return;
  std::set<std::string> written;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) written.insert(line);
  for (const auto& file : relative_files(dir / sub)) written.insert((sub / file).generic_string());
  std::string listing;
  for (const auto& file : written) listing += file + "\n";
  write_text_file(dir / kManifest, listing);
}

void check_output_path(const std::filesystem::path& path, bool force) {
  check_can_write(path, force);
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw UsageError(path.string() + ": is a directory; --force replaces only files recap wrote");
}

StagingDirectory::StagingDirectory(const std::filesystem::path& target, bool force)
    : target_(target), staging_(sibling_name(target, "tmp")), force_(force) {
  check_can_write(target, force);
  std::error_code ec;
  if (force && std::filesystem::exists(std::filesystem::symlink_status(target, ec))) check_replaceable(target);
  std::filesystem::remove_all(staging_, ec);
  if (!std::filesystem::create_directory(staging_, ec))
    throw UsageError(target.string() + ": cannot create output directory: " + ec.message());
}

StagingDirectory::~StagingDirectory() {
  if (!committed_) {
    std::error_code ignored;
    std::filesystem::remove_all(staging_, ignored);
  }
}

void StagingDirectory::commit() {
  std::string manifest;
  for (const auto& file : relative_files(staging_)) manifest += file + "\n";
  write_text_file(staging_ / kManifest, manifest);
  std::error_code ec;
  std::filesystem::path old;
  if (std::filesystem::exists(std::filesystem::symlink_status(target_, ec))) {
    if (!force_) throw UsageError(target_.string() + ": already exists; pass --force to overwrite it");
    check_replaceable(target_);  // again: somebody may have added to it while we worked
    old = sibling_name(target_, "old");
    std::filesystem::rename(target_, old, ec);
    if (ec) throw Error(ExitCode::internal, target_.string() + ": cannot move the old output aside: " + ec.message());
  }
  std::filesystem::rename(staging_, target_, ec);
  if (ec) {
    if (!old.empty()) std::filesystem::rename(old, target_, ec);  // put the old one back
    throw Error(ExitCode::internal, target_.string() + ": cannot move output into place: " + ec.message());
  }
  committed_ = true;
  if (!old.empty()) std::filesystem::remove_all(old, ec);
}

}  // namespace recap::io
