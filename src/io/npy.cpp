#include "recap/io/npy.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <limits>

#include "recap/common/checked_size.h"
#include "recap/common/error.h"
#include "recap/io/atomic_file.h"

namespace recap::io {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr std::size_t kMagicLength = 6;

[[noreturn]] void bad(const std::string& source, const std::string& what) {
  throw InputError(source + ": not a valid .npy file: " + what);
}

// Finds the quoted value of `key` in the header dict, e.g. 'descr': '<f4'.
std::string dict_value(const std::string& dict, const std::string& key, const std::string& source) {
  const std::string quoted = "'" + key + "'";
  auto pos = dict.find(quoted);
  if (pos == std::string::npos) bad(source, "header has no " + quoted);
  pos = dict.find(':', pos + quoted.size());
  if (pos == std::string::npos) bad(source, "header entry " + quoted + " has no value");
  ++pos;
  while (pos < dict.size() && std::isspace(static_cast<unsigned char>(dict[pos]))) ++pos;
  if (pos >= dict.size()) bad(source, "header entry " + quoted + " has no value");
  const char open = dict[pos];
  if (open == '\'' || open == '"') {
    auto end = dict.find(open, pos + 1);
    if (end == std::string::npos) bad(source, "unterminated string in header");
    return dict.substr(pos + 1, end - pos - 1);
  }
  if (open == '(') {
    auto end = dict.find(')', pos);
    if (end == std::string::npos) bad(source, "unterminated shape tuple in header");
    return dict.substr(pos, end - pos + 1);
  }
  auto end = dict.find_first_of(",}", pos);
  std::string value = dict.substr(pos, end - pos);
  while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back()))) value.pop_back();
  return value;
}

DType parse_descr(const std::string& descr, const std::string& source) {
  if (descr.size() < 3) bad(source, "unknown dtype '" + descr + "'");
  const char order = descr[0];
  const std::string kind = descr.substr(1);
  if (order == '>' && kind != "u1" && kind != "b1")
    throw InputError(source + ": big-endian dtype '" + descr + "' is not supported; save it little-endian");
  if (kind == "f4") return DType::f32;
  if (kind == "f2") return DType::f16;
  if (kind == "f8") return DType::f64;
  if (kind == "i4") return DType::i32;
  if (kind == "i8") return DType::i64;
  if (kind == "u1") return DType::u8;
  if (kind == "b1") return DType::boolean;
  throw InputError(source + ": unsupported .npy dtype '" + descr +
                   "' (supported: float32, float16, float64, int32, int64, uint8, bool)");
}

std::vector<std::int64_t> parse_shape(const std::string& tuple, const std::string& source) {
  std::vector<std::int64_t> shape;
  std::size_t pos = 1;  // after '('
  while (pos < tuple.size()) {
    while (pos < tuple.size() && (std::isspace(static_cast<unsigned char>(tuple[pos])) || tuple[pos] == ','))
      ++pos;
    if (pos >= tuple.size() || tuple[pos] == ')') break;
    std::size_t end = pos;
    while (end < tuple.size() && std::isdigit(static_cast<unsigned char>(tuple[end]))) ++end;
    // numpy may write Python 2 longs such as 3L.
    if (end == pos) bad(source, "malformed shape " + tuple);
    if (end - pos > 18) bad(source, "shape has a dimension too large for any file");
    shape.push_back(std::stoll(tuple.substr(pos, end - pos)));
    pos = end;
    if (pos < tuple.size() && tuple[pos] == 'L') ++pos;
  }
  return shape;
}

std::string shape_string(const std::vector<std::int64_t>& shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

std::string descr_of(DType dtype) {
  switch (dtype) {
    case DType::f32: return "<f4";
    case DType::f16: return "<f2";
    case DType::f64: return "<f8";
    case DType::i32: return "<i4";
    case DType::i64: return "<i8";
    case DType::u8: return "|u1";
    case DType::boolean: return "|b1";
    case DType::bf16: break;
  }
  throw std::invalid_argument(".npy has no bfloat16 dtype");
}

template <typename T>
void write_any(const std::filesystem::path& path, DType dtype, const T* data, const std::vector<std::int64_t>& shape) {
  std::int64_t count = 1;
  for (auto d : shape) count *= d;
  AtomicFile out(path);
  const std::string header = make_npy_header(dtype, shape);
  out.write(header.data(), header.size());
  out.write(reinterpret_cast<const char*>(data), static_cast<std::size_t>(count) * sizeof(T));
  out.commit();
}

}  // namespace

std::int64_t NpyHeader::element_count() const {
  std::int64_t count = 1;
  for (auto d : shape) count *= d;
  return count;
}

NpyHeader parse_npy_header(const std::byte* data, std::size_t size, const std::string& source) {
  if (size == 0) throw InputError(source + ": file is empty");
  if (size < kMagicLength + 4 || std::memcmp(data, kMagic, kMagicLength) != 0)
    bad(source, "missing the \\x93NUMPY magic");
  const auto major = static_cast<unsigned>(data[6]);
  std::size_t header_length = 0;
  std::size_t prefix = 0;
  if (major == 1) {
    header_length = static_cast<std::size_t>(data[8]) | (static_cast<std::size_t>(data[9]) << 8);
    prefix = 10;
  } else if (major == 2 || major == 3) {
    if (size < 12) bad(source, "truncated header");
    header_length = 0;
    for (int i = 0; i < 4; ++i) header_length |= static_cast<std::size_t>(data[8 + i]) << (8 * i);
    prefix = 12;
  } else {
    bad(source, "unsupported format version " + std::to_string(major));
  }
  if (prefix + header_length > size) bad(source, "truncated header");
  const std::string dict(reinterpret_cast<const char*>(data) + prefix, header_length);

  NpyHeader header;
  header.data_offset = prefix + header_length;
  header.dtype = parse_descr(dict_value(dict, "descr", source), source);
  const std::string fortran = dict_value(dict, "fortran_order", source);
  header.shape = parse_shape(dict_value(dict, "shape", source), source);
  if (fortran == "True") {
    bool trivially_same = header.shape.size() <= 1;
    if (!trivially_same)
      throw InputError(source + ": Fortran-order arrays are not supported; save with np.ascontiguousarray");
  } else if (fortran != "False") {
    bad(source, "fortran_order is '" + fortran + "'");
  }
  const auto data_bytes = checked_byte_size(header.shape, dtype_size(header.dtype));
  if (!data_bytes || *data_bytes > size)
    throw InputError(source + ": header announces " + dtype_name(header.dtype) + " " + shape_string(header.shape) +
                     ", larger than the whole file (" + std::to_string(size) + " bytes): corrupt or truncated .npy");
  const std::size_t expected = header.data_offset + *data_bytes;
  if (size < expected)
    throw InputError(source + ": truncated .npy: header announces " + dtype_name(header.dtype) + " " +
                     shape_string(header.shape) + " (" + std::to_string(expected) + " bytes) but the file has " +
                     std::to_string(size) + " bytes");
  if (size > expected)
    throw InputError(source + ": .npy has " + std::to_string(size - expected) +
                     " bytes beyond the data its header announces");
  return header;
}

std::string make_npy_header(DType dtype, const std::vector<std::int64_t>& shape) {
  std::string dict = "{'descr': '" + descr_of(dtype) + "', 'fortran_order': False, 'shape': " +
                     shape_string(shape) + ", }";
  // Version 1 when the header fits 65535 bytes, else version 2; pad so data starts at a
  // multiple of 64 bytes, as numpy does.
  const bool v2 = dict.size() + 11 > 65535;
  const std::size_t prefix = v2 ? 12 : 10;
  std::size_t total = prefix + dict.size() + 1;
  total = (total + 63) / 64 * 64;
  dict.append(total - prefix - dict.size() - 1, ' ');
  dict.push_back('\n');
  std::string header(kMagic, kMagicLength);
  header.push_back(static_cast<char>(v2 ? 2 : 1));
  header.push_back(0);
  const std::size_t length = dict.size();
  for (std::size_t i = 0; i < (v2 ? 4u : 2u); ++i) header.push_back(static_cast<char>((length >> (8 * i)) & 0xff));
  return header + dict;
}

NpyMatrixReader::NpyMatrixReader(const std::filesystem::path& path) : file_(path) {
  header_ = parse_npy_header(file_.data(), file_.size(), path.string());
  if (header_.shape.size() != 2)
    throw InputError(path.string() + ": expected a 2-D matrix (n x d), got shape " + shape_string(header_.shape));
  if (header_.dtype != DType::f32 && header_.dtype != DType::f16 && header_.dtype != DType::f64)
    throw InputError(path.string() + ": expected float32 or float16 embeddings, got " + dtype_name(header_.dtype));
  rows_ = header_.shape[0];
  cols_ = header_.shape[1];
}

void NpyMatrixReader::read_rows(std::int64_t first, std::int64_t count, float* out) const {
  const std::size_t item = dtype_size(header_.dtype);
  const std::size_t offset = header_.data_offset + static_cast<std::size_t>(first * cols_) * item;
  if (header_.dtype == DType::f32) {  // read, not copied from the mapping: see MappedFile::read
    file_.read(offset, static_cast<std::size_t>(count * cols_) * item, out);
    return;
  }
  convert_to_float(header_.dtype, file_.data() + offset, static_cast<std::size_t>(count * cols_), out);
}

void NpyMatrixReader::release_rows(std::int64_t first, std::int64_t count) const {
  const std::size_t item = dtype_size(header_.dtype);
  file_.release(header_.data_offset + static_cast<std::size_t>(first * cols_) * item,
                static_cast<std::size_t>(count * cols_) * item);
}

void NpyMatrixReader::prefetch_rows(std::int64_t first, std::int64_t count) const {
  count = std::min(count, rows_ - first);
  if (count <= 0) return;
  const std::size_t item = dtype_size(header_.dtype);
  file_.prefetch(header_.data_offset + static_cast<std::size_t>(first * cols_) * item,
                 static_cast<std::size_t>(count * cols_) * item);
}

const float* NpyMatrixReader::direct_rows(std::int64_t first) const {
  if (header_.dtype != DType::f32 || header_.data_offset % alignof(float) != 0) return nullptr;
  return reinterpret_cast<const float*>(file_.data() + header_.data_offset) + first * cols_;
}

NpyStreamWriter::NpyStreamWriter(const std::filesystem::path& path, std::int64_t rows, std::int64_t cols)
    : file_(std::make_unique<AtomicFile>(path)), rows_(rows), cols_(cols) {
  const std::string header = make_npy_header(DType::f32, {rows, cols});
  file_->write(header.data(), header.size());
}

NpyStreamWriter::~NpyStreamWriter() = default;

void NpyStreamWriter::append(const float* rows, std::int64_t count) {
  if (written_ + count > rows_)
    throw std::logic_error(file_->target().string() + ": more rows written than announced");
  file_->write(rows, static_cast<std::size_t>(count * cols_) * sizeof(float));
  written_ += count;
}

void NpyStreamWriter::commit() {
  if (written_ != rows_)
    throw std::logic_error(file_->target().string() + ": " + std::to_string(written_) + " of " +
                           std::to_string(rows_) + " rows written");
  file_->commit();
}

FloatMatrix read_npy_matrix(const std::filesystem::path& path) {
  NpyMatrixReader reader(path);
  FloatMatrix m(reader.rows(), reader.cols());
  reader.read_rows(0, m.rows, m.data());
  return m;
}

std::vector<std::int64_t> read_npy_int64(const std::filesystem::path& path, std::vector<std::int64_t>* shape) {
  MappedFile file(path);
  const NpyHeader header = parse_npy_header(file.data(), file.size(), path.string());
  const auto count = static_cast<std::size_t>(header.element_count());
  std::vector<std::int64_t> values(count);
  const std::byte* src = file.data() + header.data_offset;
  if (header.dtype != DType::i64 && header.dtype != DType::i32)
    throw InputError(path.string() + ": expected an int32 or int64 array, got " + dtype_name(header.dtype));
  if (count == 0) {
    // nothing to copy (and an empty vector's data() may be null, which memcpy must not see)
  } else if (header.dtype == DType::i64) {
    std::memcpy(values.data(), src, count * 8);
  } else {
    for (std::size_t i = 0; i < count; ++i) {
      std::int32_t v;
      std::memcpy(&v, src + 4 * i, 4);
      values[i] = v;
    }
  }
  if (shape != nullptr) *shape = header.shape;
  return values;
}

std::vector<double> read_npy_float64(const std::filesystem::path& path, std::vector<std::int64_t>* shape) {
  MappedFile file(path);
  const NpyHeader header = parse_npy_header(file.data(), file.size(), path.string());
  if (header.dtype != DType::f64)
    throw InputError(path.string() + ": expected a float64 array, got " + dtype_name(header.dtype));
  std::vector<double> values(static_cast<std::size_t>(header.element_count()));
  if (!values.empty()) std::memcpy(values.data(), file.data() + header.data_offset, values.size() * sizeof(double));
  if (shape != nullptr) *shape = header.shape;
  return values;
}

void write_npy(const std::filesystem::path& path, const float* data, const std::vector<std::int64_t>& shape) {
  write_any(path, DType::f32, data, shape);
}
void write_npy(const std::filesystem::path& path, const double* data, const std::vector<std::int64_t>& shape) {
  write_any(path, DType::f64, data, shape);
}
void write_npy(const std::filesystem::path& path, const std::int64_t* data, const std::vector<std::int64_t>& shape) {
  write_any(path, DType::i64, data, shape);
}
void write_npy(const std::filesystem::path& path, const std::int32_t* data, const std::vector<std::int64_t>& shape) {
  write_any(path, DType::i32, data, shape);
}

}  // namespace recap::io
