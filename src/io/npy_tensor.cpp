#include "recap/io/npy_tensor.h"

#include "recap/common/error.h"
#include "recap/io/mapped_file.h"
#include "recap/io/npy.h"

namespace recap::io {

FloatTensor read_npy_float(const std::filesystem::path& path) {
  MappedFile file(path);
  const NpyHeader header = parse_npy_header(file.data(), file.size(), path.string());
  if (header.dtype != DType::f32 && header.dtype != DType::f16 && header.dtype != DType::bf16 &&
      header.dtype != DType::f64) {
    throw InputError(path.string() + ": expected a floating-point array, got " + dtype_name(header.dtype));
  }
  FloatTensor tensor;
  tensor.shape = header.shape;
  tensor.values.resize(static_cast<std::size_t>(header.element_count()));
  convert_to_float(header.dtype, file.data() + header.data_offset, tensor.values.size(), tensor.values.data());
  return tensor;
}

}  // namespace recap::io
