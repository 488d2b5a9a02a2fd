// A stand-in for src/io/mapped_file.cpp in the fuzz build: the same class
// (include/recap/io/mapped_file.h), but the file is read into a heap buffer of exactly its
// size instead of being mapped. AddressSanitizer cannot see a read past the end of an
// mmap()ed file (the rest of the last page reads as zeros), but it reports one past a heap
// buffer, so the .npy and safetensors readers are checked byte-exactly.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <utility>

#include "recap/common/error.h"
#include "recap/io/mapped_file.h"

namespace recap::io {

MappedFile::MappedFile(const std::filesystem::path& path) : path_(path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw InputError(path.string() + ": cannot open: " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw InputError(path.string() + ": not a regular file");
  }
  size_ = static_cast<std::size_t>(st.st_size);
  if (size_ > 0) {
    data_ = new std::byte[size_];
    std::size_t done = 0;
    while (done < size_) {
      const ssize_t n = ::read(fd, data_ + done, size_ - done);
      if (n <= 0) {
        delete[] data_;
        ::close(fd);
        throw InputError(path.string() + ": read error");
      }
      done += static_cast<std::size_t>(n);
    }
  }
  ::close(fd);
}

MappedFile::~MappedFile() { delete[] data_; }

MappedFile::MappedFile(MappedFile&& other) noexcept
    : path_(std::move(other.path_)), data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)) {}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    delete[] data_;
    path_ = std::move(other.path_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

// The same bounds as the real read(), copied from the heap buffer, so that a reader asking
// past the end is caught here too.
void MappedFile::read(std::size_t offset, std::size_t length, void* out) const {
  if (offset > size_ || length > size_ - offset)
    throw std::out_of_range(path_.string() + ": read past the end of the file");
  if (length > 0) std::memcpy(out, data_ + offset, length);
}

// Paging hints have no meaning for a heap copy.
void MappedFile::release(std::size_t, std::size_t) const {}
void MappedFile::prefetch(std::size_t, std::size_t) const {}
void MappedFile::advise_sequential() const {}

}  // namespace recap::io
