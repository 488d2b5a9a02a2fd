#include "recap/io/safetensors_writer.h"

#include <set>
#include <nlohmann/json.hpp>

#include "recap/common/checked_size.h"
#include "recap/common/error.h"
#include "recap/io/atomic_file.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors data is little-endian; floats are written as they lie");

namespace recap::io {

void write_safetensors(const std::filesystem::path& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  // ordered_json keeps the tensors in the order of their data, which makes the header
  // easy to read; readers do not depend on it.
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::set<std::string> names;
  std::vector<std::uint64_t> sizes;
  std::uint64_t offset = 0;
  for (const auto& tensor : tensors) {
    const std::string where = path.string() + ": tensor '" + tensor.name + "'";
    if (tensor.name.empty()) throw UsageError(path.string() + ": a tensor has an empty name");
    if (tensor.name == "__metadata__") throw UsageError(where + ": the name is reserved for the metadata");
    if (!names.insert(tensor.name).second) throw UsageError(where + ": the name is used twice");
    const auto bytes = checked_byte_size(tensor.shape, sizeof(float));
    if (!bytes) throw UsageError(where + ": has a negative or impossibly large dimension");
    if (*bytes > 0 && tensor.data == nullptr) throw UsageError(where + ": has no data");
    header[tensor.name] = {{"dtype", "F32"}, {"shape", tensor.shape}, {"data_offsets", {offset, offset + *bytes}}};
    sizes.push_back(*bytes);
    offset += *bytes;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  unsigned char length[8];
  for (int i = 0; i < 8; ++i) length[i] = static_cast<unsigned char>(std::uint64_t(text.size()) >> (8 * i));

  AtomicFile out(path);
  out.write(length, sizeof length);
  out.write(text);
  for (std::size_t i = 0; i < tensors.size(); ++i) out.write(tensors[i].data, sizes[i]);
  out.commit();
}

}  // namespace recap::io
