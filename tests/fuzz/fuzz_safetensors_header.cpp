// recap::io::SafetensorsFile (include/recap/io/safetensors.h) on a file holding the input.
// The file is read into an exact heap buffer (heap_mapped_file.cpp), so a tensor view that
// reaches past the end of the file is reported by ASan when the harness reads it:
// to_float() / to_int64() on tensors up to 1 MB, and every byte of U8/BOOL tensors.
// The harness also checks the promises of the constructor: sizes match shape x dtype,
// views lie inside the data section, and no two non-empty tensors overlap.
// Documented refusals: recap::InputError; std::invalid_argument only from to_float() /
// to_int64() on a tensor of the other kind (never reached here: the harness picks).
#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "fuzz_support.h"
#include "recap/common/checked_size.h"
#include "recap/io/safetensors.h"

using namespace recap;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto path = fuzz::scratch_dir() / "input.safetensors";
  fuzz::write_file(path, fuzz::as_text(data, size));
  fuzz::guard([&] {
    const io::SafetensorsFile file(path);
    std::vector<std::pair<const std::byte*, const std::byte*>> spans;
    for (const io::TensorView& t : file.tensors()) {
      const auto expected = checked_byte_size(t.shape, io::dtype_size(t.dtype));
      FUZZ_CHECK(expected && *expected == t.nbytes, "tensor '" + t.name + "': nbytes is not shape x dtype");
      FUZZ_CHECK(file.find(t.name) == &t, "find() does not return the tensor '" + t.name + "'");
      if (t.nbytes > 0) spans.emplace_back(t.data, t.data + t.nbytes);
      if (t.nbytes > (1u << 20)) continue;
      switch (t.dtype) {
        case io::DType::f32:
        case io::DType::f16:
        case io::DType::bf16:
        case io::DType::f64: {
          const auto values = t.to_float();
          FUZZ_CHECK(values.size() == static_cast<std::size_t>(t.element_count()), "to_float size");
          break;
        }
        case io::DType::i32:
        case io::DType::i64: {
          const auto values = t.to_int64();
          FUZZ_CHECK(values.size() == static_cast<std::size_t>(t.element_count()), "to_int64 size");
          break;
        }
        case io::DType::u8:
        case io::DType::boolean: {
          unsigned sum = 0;
          for (std::size_t i = 0; i < t.nbytes; ++i) sum += static_cast<unsigned>(t.data[i]);
          volatile unsigned sink = sum;
          (void)sink;
          break;
        }
      }
    }
    std::sort(spans.begin(), spans.end());
    for (std::size_t i = 1; i < spans.size(); ++i)
      FUZZ_CHECK(spans[i].first >= spans[i - 1].second, "two non-empty tensors overlap");
    for (const auto& [key, value] : file.metadata()) (void)key.size(), (void)value.size();
  });
  return 0;
}
