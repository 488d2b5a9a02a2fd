#pragma once
// Outputs appear whole or not at all: data goes to a temporary file beside the target,
// which is renamed over it only by commit(). A writer destroyed before commit() (an
// exception, a failed check) removes its temporary file.
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>

namespace recap::io {

class AtomicFile {
 public:
  explicit AtomicFile(const std::filesystem::path& target);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, std::size_t size);
  void write(std::string_view text) { write(text.data(), text.size()); }
  // Flushes, syncs and renames into place. Throws if any write failed.
  void commit();

  const std::filesystem::path& target() const { return target_; }

 private:
  std::filesystem::path target_;
  std::filesystem::path temporary_;
  std::FILE* file_ = nullptr;
  bool failed_ = false;
};

// Writes `content` to `path` atomically.
void write_text_file(const std::filesystem::path& path, std::string_view content);

// A directory built under a temporary name and renamed into place by commit(), with a
// list of the files it holds (.recap-output). Refuses to start when the target exists
// unless `force` is set. With force it replaces only a directory that it committed itself
// and that holds nothing but the files on that list (anything else, a regular file or a
// symbolic link, is refused), and only once the new one is complete.
class StagingDirectory {
 public:
  StagingDirectory(const std::filesystem::path& target, bool force);
  ~StagingDirectory();
  StagingDirectory(const StagingDirectory&) = delete;
  StagingDirectory& operator=(const StagingDirectory&) = delete;

  // Where files are written until commit().
  const std::filesystem::path& path() const { return staging_; }
  void commit();

 private:
  std::filesystem::path target_;
  std::filesystem::path staging_;
  bool force_;
  bool committed_ = false;
};

// Adds every file under `dir`/`sub` to the list of files of `dir`, a directory a
// StagingDirectory committed (a tool that later writes into it, such as recap-index into a
// run, keeps it replaceable with --force). Does nothing when `dir` has no list.
void add_to_output_listing(const std::filesystem::path& dir, const std::filesystem::path& sub);

// Throws a UsageError when `path` exists and `force` is not set, or when its directory
// cannot be written. Call before long work so that the user learns early.
void check_output_path(const std::filesystem::path& path, bool force);

}  // namespace recap::io
