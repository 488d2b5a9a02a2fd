#pragma once
// Writing safetensors files (the format io::SafetensorsFile reads), for the weights of
// models trained here: float32 tensors in the layout Python's safetensors library writes.
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace recap::io {

// One float32 tensor, row-major; `data` holds product(shape) values (may be null when
// that product is 0). Shape {} is a scalar (one value).
struct TensorToWrite {
  std::string name;
  std::vector<std::int64_t> shape;
  const float* data = nullptr;
};

// Writes an 8-byte little-endian header length, the JSON header
// {"__metadata__": {...}, name: {"dtype": "F32", "shape": [...], "data_offsets": [b, e]}},
// padded with spaces to a multiple of 8 bytes (as the Python library does, so that the
// data section is 8-byte aligned), then the tensors' data back to back in the given
// order. The file appears whole or not at all (io::AtomicFile). Throws UsageError for an
// empty, duplicate or reserved ("__metadata__") name, or a negative dimension.
void write_safetensors(const std::filesystem::path& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace recap::io
