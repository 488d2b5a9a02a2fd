#pragma once
// Read-only safetensors files (the Hugging Face weight format): an 8-byte little-endian
// header length, a JSON header {name: {dtype, shape, data_offsets}, "__metadata__": {...}},
// then the raw data. The file is memory-mapped and tensors are zero-copy views into it.
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "recap/io/dtype.h"
#include "recap/io/mapped_file.h"

namespace recap::io {

struct TensorView {
  std::string name;
  DType dtype = DType::f32;
  std::vector<std::int64_t> shape;
  const std::byte* data = nullptr;  // points into the mapped file; valid while the file lives
  std::size_t nbytes = 0;

  std::int64_t element_count() const;
  // A float32 copy (float16/bfloat16/float64 converted). Throws for integer tensors.
  std::vector<float> to_float() const;
  // An int64 copy of an I32/I64 tensor.
  std::vector<std::int64_t> to_int64() const;
};

class SafetensorsFile {
 public:
  // Maps and validates the file: header JSON, known dtypes, offsets inside the data
  // section, sizes matching shape x dtype, and no two tensors overlapping.
  explicit SafetensorsFile(const std::filesystem::path& path);

  const std::vector<TensorView>& tensors() const { return tensors_; }
  const TensorView* find(const std::string& name) const;  // nullptr when absent
  const TensorView& at(const std::string& name) const;     // throws InputError when absent
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::filesystem::path& path() const { return file_.path(); }

 private:
  MappedFile file_;
  std::vector<TensorView> tensors_;
  std::map<std::string, std::size_t> index_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace recap::io
