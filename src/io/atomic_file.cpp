#include "recap/io/atomic_file.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

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

void check_output_path(const std::filesystem::path& path, bool force) {
  std::error_code ec;
  if (std::filesystem::exists(path, ec) && !force)
    throw UsageError(path.string() + ": already exists; pass --force to overwrite it");
  const auto parent = parent_or_dot(path);
  if (!std::filesystem::is_directory(parent, ec))
    throw UsageError(path.string() + ": parent directory " + parent.string() + " does not exist");
  if (::access(parent.c_str(), W_OK) != 0)
    throw UsageError(path.string() + ": directory " + parent.string() + " is not writable");
}

StagingDirectory::StagingDirectory(const std::filesystem::path& target, bool force)
    : target_(target), staging_(sibling_name(target, "tmp")), force_(force) {
  check_output_path(target, force);
  std::error_code ec;
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
  std::error_code ec;
  std::filesystem::path old;
  if (std::filesystem::exists(target_, ec)) {
    if (!force_) throw UsageError(target_.string() + ": already exists; pass --force to overwrite it");
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
