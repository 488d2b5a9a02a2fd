#include "recap/io/safetensors.h"

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <nlohmann/json.hpp>

#include "recap/common/checked_size.h"
#include "recap/common/error.h"

namespace recap::io {
namespace {

DType parse_dtype(const std::string& name, const std::string& source, const std::string& tensor) {
  if (name == "F32") return DType::f32;
  if (name == "F16") return DType::f16;
  if (name == "BF16") return DType::bf16;
  if (name == "F64") return DType::f64;
  if (name == "I64") return DType::i64;
  if (name == "I32") return DType::i32;
  if (name == "U8") return DType::u8;
  if (name == "BOOL") return DType::boolean;
  throw InputError(source + ": tensor '" + tensor + "' has unsupported dtype " + name +
                   " (supported: F32, F16, BF16, F64, I64, I32, U8, BOOL)");
}

// A JSON array of integers. nlohmann would convert 1e20 or -1 to an integer type as C++
// casts do (undefined behaviour when out of range): only integers that fit are accepted.
template <typename T>
std::vector<T> integers(const nlohmann::json& value, const std::string& source, const std::string& tensor,
                        const char* what) {
  if (!value.is_array())
    throw InputError(source + ": tensor '" + tensor + "' has a " + what + " that is not an array");
  std::vector<T> out;
  for (const auto& v : value) {
    const bool fits = std::is_signed_v<T> ? v.is_number_integer() : v.is_number_unsigned();
    if (!fits) throw InputError(source + ": tensor '" + tensor + "' has a " + what + " entry that is not " +
                                (std::is_signed_v<T> ? "an " : "a non-negative ") + "integer: " + v.dump());
    out.push_back(v.get<T>());
  }
  return out;
}

}  // namespace

std::int64_t TensorView::element_count() const {
  std::int64_t count = 1;
  for (auto d : shape) count *= d;
  return count;
}

std::vector<float> TensorView::to_float() const {
  std::vector<float> out(static_cast<std::size_t>(element_count()));
  convert_to_float(dtype, data, out.size(), out.data());
  return out;
}

std::vector<std::int64_t> TensorView::to_int64() const {
  std::vector<std::int64_t> out(static_cast<std::size_t>(element_count()));
  if (out.empty()) return out;  // an empty tensor's pointers may be null, which memcpy must not see
  if (dtype == DType::i64) {
    std::memcpy(out.data(), data, out.size() * 8);
  } else if (dtype == DType::i32) {
    for (std::size_t i = 0; i < out.size(); ++i) {
      std::int32_t v;
      std::memcpy(&v, data + 4 * i, 4);
      out[i] = v;
    }
  } else {
    throw std::invalid_argument("tensor '" + name + "' is " + dtype_name(dtype) + ", not an integer type");
  }
  return out;
}

SafetensorsFile::SafetensorsFile(const std::filesystem::path& path) : file_(path) {
  const std::string source = path.string();
  const std::size_t size = file_.size();
  if (size < 8) throw InputError(source + ": not a safetensors file: shorter than its 8-byte header length");
  std::uint64_t header_length = 0;
  for (int i = 0; i < 8; ++i) header_length |= static_cast<std::uint64_t>(file_.data()[i]) << (8 * i);
  if (header_length > size - 8)
    throw InputError(source + ": truncated safetensors file: header of " + std::to_string(header_length) +
                     " bytes does not fit in " + std::to_string(size) + " bytes");
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(reinterpret_cast<const char*>(file_.data()) + 8,
                                   reinterpret_cast<const char*>(file_.data()) + 8 + header_length);
  } catch (const nlohmann::json::exception& e) {
    throw InputError(source + ": safetensors header is not valid JSON (" + std::string(e.what()) + ")");
  }
  if (!header.is_object()) throw InputError(source + ": safetensors header is not a JSON object");

  const std::byte* data_start = file_.data() + 8 + header_length;
  const std::size_t data_size = size - 8 - header_length;
  std::vector<std::pair<std::size_t, std::size_t>> spans;  // (begin, end), for the overlap check
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") {
      if (it.value().is_object())
        for (auto m = it.value().begin(); m != it.value().end(); ++m)
          metadata_[m.key()] = m.value().is_string() ? m.value().get<std::string>() : m.value().dump();
      continue;
    }
    const auto& entry = it.value();
    try {
      TensorView view;
      view.name = it.key();
      view.dtype = parse_dtype(entry.at("dtype").get<std::string>(), source, view.name);
      view.shape = integers<std::int64_t>(entry.at("shape"), source, view.name, "shape");
      const auto offsets = integers<std::uint64_t>(entry.at("data_offsets"), source, view.name, "data_offsets");
      if (offsets.size() != 2 || offsets[0] > offsets[1] || offsets[1] > data_size)
        throw InputError(source + ": tensor '" + view.name + "' has data_offsets outside the " +
                         std::to_string(data_size) + "-byte data section (file truncated?)");
      for (auto d : view.shape)
        if (d < 0) throw InputError(source + ": tensor '" + view.name + "' has a negative dimension");
      view.nbytes = offsets[1] - offsets[0];
      const auto expected = checked_byte_size(view.shape, dtype_size(view.dtype));
      if (!expected)
        throw InputError(source + ": tensor '" + view.name + "' has a shape too large for any file (corrupt header)");
      if (view.nbytes != *expected)
        throw InputError(source + ": tensor '" + view.name + "' holds " + std::to_string(view.nbytes) +
                         " bytes but its shape and dtype need " + std::to_string(*expected));
      view.data = data_start + offsets[0];
      spans.emplace_back(offsets[0], offsets[1]);
      index_[view.name] = tensors_.size();
      tensors_.push_back(std::move(view));
    } catch (const nlohmann::json::exception& e) {
      throw InputError(source + ": tensor '" + it.key() + "' has a malformed header entry (" + e.what() + ")");
    }
  }
  // Sorted by start, a non-empty span overlaps an earlier one exactly when it starts
  // before the furthest end seen so far (empty tensors hold no bytes and are skipped).
  std::sort(spans.begin(), spans.end());
  std::size_t furthest_end = 0;
  for (const auto& [begin, end] : spans) {
    if (begin == end) continue;
    if (begin < furthest_end) throw InputError(source + ": two tensors share bytes in the data section (corrupt file)");
    furthest_end = std::max(furthest_end, end);
  }
}

const TensorView* SafetensorsFile::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

const TensorView& SafetensorsFile::at(const std::string& name) const {
  const TensorView* view = find(name);
  if (view == nullptr) throw InputError(path().string() + ": has no tensor named '" + name + "'");
  return *view;
}

}  // namespace recap::io
