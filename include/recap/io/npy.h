#pragma once
// NumPy .npy files (format versions 1, 2 and 3; little-endian; C order).
// Readers validate the header against the file size so that truncated or padded files
// are reported instead of read past. Writers go through an atomic rename.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "recap/io/dtype.h"
#include "recap/io/mapped_file.h"
#include "recap/io/matrix.h"

namespace recap::io {

class AtomicFile;

struct NpyHeader {
  DType dtype = DType::f32;
  std::vector<std::int64_t> shape;
  std::size_t data_offset = 0;  // bytes from the start of the file to the first element

  std::int64_t element_count() const;
};

// Parses the header of a .npy image held in memory and checks that `size` bytes hold
// exactly the data it announces. `source` names the file in error messages.
NpyHeader parse_npy_header(const std::byte* data, std::size_t size, const std::string& source);

// The header bytes (magic, version, padded dict) for an array of this type and shape.
std::string make_npy_header(DType dtype, const std::vector<std::int64_t>& shape);

// A memory-mapped 2-D floating-point .npy (float32, or float16/bfloat16/float64 converted
// per chunk). Reads rows without loading the file.
class NpyMatrixReader {
 public:
  explicit NpyMatrixReader(const std::filesystem::path& path);

  std::int64_t rows() const { return rows_; }
  std::int64_t cols() const { return cols_; }
  DType dtype() const { return header_.dtype; }
  const std::filesystem::path& path() const { return file_.path(); }

  // Copies rows [first, first+count) as float32 into `out` (count*cols floats); float32
  // files are read with pread (MappedFile::read), not through the mapping.
  void read_rows(std::int64_t first, std::int64_t count, float* out) const;
  // Starts reading rows [first, first+count) from disk in the background.
  void prefetch_rows(std::int64_t first, std::int64_t count) const;
  // Drops rows [first, first+count) from the resident set once they are consumed.
  void release_rows(std::int64_t first, std::int64_t count) const;
  // Zero-copy pointer to row `first` when the file holds aligned float32, else nullptr.
  const float* direct_rows(std::int64_t first) const;

 private:
  MappedFile file_;
  NpyHeader header_;
  std::int64_t rows_ = 0;
  std::int64_t cols_ = 0;
};

// Writes a float32 .npy of known shape row chunk by row chunk (atomically: the file
// appears only when commit() has checked that every announced row was written).
class NpyStreamWriter {
 public:
  NpyStreamWriter(const std::filesystem::path& path, std::int64_t rows, std::int64_t cols);
  ~NpyStreamWriter();
  void append(const float* rows, std::int64_t count);
  void commit();

 private:
  std::unique_ptr<AtomicFile> file_;
  std::int64_t rows_, cols_, written_ = 0;
};

// Loads a 2-D floating-point .npy as float32 (a 1-D array is refused: say n x d).
FloatMatrix read_npy_matrix(const std::filesystem::path& path);

// Loads an integer .npy (int32 or int64) as int64; `shape` receives its shape.
std::vector<std::int64_t> read_npy_int64(const std::filesystem::path& path,
                                         std::vector<std::int64_t>* shape = nullptr);

// Loads a float64 .npy without rounding (statistics that must add up exactly); InputError
// for any other dtype. `shape` receives its shape.
std::vector<double> read_npy_float64(const std::filesystem::path& path, std::vector<std::int64_t>* shape = nullptr);

void write_npy(const std::filesystem::path& path, const float* data, const std::vector<std::int64_t>& shape);
void write_npy(const std::filesystem::path& path, const double* data, const std::vector<std::int64_t>& shape);
void write_npy(const std::filesystem::path& path, const std::int64_t* data, const std::vector<std::int64_t>& shape);
void write_npy(const std::filesystem::path& path, const std::int32_t* data, const std::vector<std::int64_t>& shape);
inline void write_npy(const std::filesystem::path& path, const FloatMatrix& m) {
  write_npy(path, m.data(), {m.rows, m.cols});
}

}  // namespace recap::io
