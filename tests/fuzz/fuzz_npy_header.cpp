// parse_npy_header (include/recap/io/npy.h) on raw bytes. When a header is accepted, the
// harness checks what the readers rely on: the announced elements lie exactly inside the
// buffer, and every element is read through the readers' own arithmetic (rows * cols *
// item size from data_offset). Accepted inputs (a minority) are also written to a scratch
// file and read by the real readers: read_npy_matrix, read_npy_int64, read_npy_float.
// Documented refusals: recap::InputError (recap::UsageError is tolerated too).
#include <cstdint>
#include <cstring>
#include <vector>

#include "fuzz_support.h"
#include "recap/common/checked_size.h"
#include "recap/io/npy.h"
#include "recap/io/npy_tensor.h"

using namespace recap;

namespace {

bool is_float(io::DType t) {
  return t == io::DType::f32 || t == io::DType::f16 || t == io::DType::bf16 || t == io::DType::f64;
}

void check_accepted(const io::NpyHeader& h, const std::byte* data, std::size_t size) {
  const std::size_t item = io::dtype_size(h.dtype);
  FUZZ_CHECK(item > 0, "unknown dtype size");
  const auto bytes = checked_byte_size(h.shape, item);
  FUZZ_CHECK(bytes.has_value(), "accepted a shape whose byte size overflows");
  FUZZ_CHECK(h.data_offset <= size && *bytes == size - h.data_offset, "data does not fill the file exactly");
  const std::int64_t count = h.element_count();
  FUZZ_CHECK(count >= 0 && static_cast<std::uint64_t>(count) * item == *bytes, "element_count disagrees with the shape");

  // Touch every element as a reader would (ASan: libFuzzer's input is an exact heap copy).
  const std::byte* first = data + h.data_offset;
  unsigned sum = 0;
  for (std::int64_t i = 0; i < count; ++i) sum += static_cast<unsigned>(first[static_cast<std::size_t>(i) * item + item - 1]);
  if (is_float(h.dtype) && count > 0) {  // (count 0: the readers' own calls are checked below)
    std::vector<float> values(static_cast<std::size_t>(count));
    io::convert_to_float(h.dtype, first, values.size(), values.data());
  }
  // NpyMatrixReader::read_rows(first, count): byte range of rows [r0, r0 + n).
  if (h.shape.size() == 2) {
    const std::int64_t rows = h.shape[0], cols = h.shape[1];
    for (std::int64_t r0 : {std::int64_t(0), rows / 2, rows > 0 ? rows - 1 : 0}) {
      const std::int64_t n = rows - r0;
      const std::size_t begin = h.data_offset + static_cast<std::size_t>(r0 * cols) * item;
      const std::size_t length = static_cast<std::size_t>(n * cols) * item;
      FUZZ_CHECK(begin <= size && length <= size - begin, "row range leaves the buffer");
    }
  }
  volatile unsigned sink = sum;
  (void)sink;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto* bytes = reinterpret_cast<const std::byte*>(data);
  bool accepted = false;
  fuzz::guard([&] {
    const io::NpyHeader header = io::parse_npy_header(bytes, size, "fuzz.npy");
    check_accepted(header, bytes, size);
    accepted = true;
  });
  if (!accepted) return 0;

  // The readers proper, through a file (read into an exact heap buffer: heap_mapped_file.cpp).
  const auto path = fuzz::scratch_dir() / "input.npy";
  fuzz::write_file(path, fuzz::as_text(data, size));
  fuzz::guard([&] {
    const io::FloatMatrix m = io::read_npy_matrix(path);
    FUZZ_CHECK(m.values.size() == static_cast<std::size_t>(m.rows * m.cols), "matrix size");
  });
  fuzz::guard([&] {
    std::vector<std::int64_t> shape;
    const auto values = io::read_npy_int64(path, &shape);
    std::int64_t count = 1;
    for (auto d : shape) count *= d;
    FUZZ_CHECK(values.size() == static_cast<std::size_t>(count), "int64 element count");
  });
  fuzz::guard([&] { (void)io::read_npy_float(path); });
  return 0;
}
