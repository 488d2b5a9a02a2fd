#pragma once
// Weights as the model loaders read them (private to src/models): safetensors files and
// Hugging Face folders into a name -> tensor map, and one report of the weights that do
// not fit a model (the first few missing, unexpected and wrongly shaped tensors).
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "recap/common/error.h"
#include "recap/io/json_file.h"
#include "recap/io/safetensors.h"

namespace recap::models::detail {

using StateDict = std::map<std::string, torch::Tensor>;

// Floating tensors become float32; integer ones int64, or are left out with `skip_integer`.
// float32 tensors are views into the file's mapping (copy-on-write), which stays mapped
// while any of them lives: no copy into fresh memory, and the weights stay file pages the
// kernel shares and can drop, not anonymous memory (CLIP ViT-B/32 + FLAN-T5-base: 1.3 GB).
inline void read_safetensors_into(const std::filesystem::path& path, StateDict& state,
                                  std::map<std::string, std::string>* metadata = nullptr, bool skip_integer = false) {
  const auto file = std::make_shared<io::SafetensorsFile>(path);
  for (const auto& view : file->tensors()) {
    std::vector<std::int64_t> shape(view.shape.begin(), view.shape.end());
    if (view.dtype == io::DType::i64 || view.dtype == io::DType::i32) {
      if (!skip_integer) state[view.name] = torch::tensor(view.to_int64(), torch::kInt64).reshape(shape);
      continue;
    }
    if (view.dtype == io::DType::f32 && reinterpret_cast<std::uintptr_t>(view.data) % alignof(float) == 0) {
      state[view.name] = torch::from_blob(const_cast<std::byte*>(view.data), shape, [file](void*) {}, torch::kFloat32);
      continue;
    }
    auto t = torch::empty(shape, torch::kFloat32);
    io::convert_to_float(view.dtype, view.data, static_cast<std::size_t>(view.element_count()), t.data_ptr<float>());
    state[view.name] = t;
  }
  if (metadata) metadata->insert(file->metadata().begin(), file->metadata().end());
}

// A Hugging Face folder's model.safetensors, or the shards its index names.
inline StateDict read_hf_weights(const std::filesystem::path& dir, bool skip_integer = false) {
  StateDict state;
  if (std::filesystem::exists(dir / "model.safetensors")) {
    read_safetensors_into(dir / "model.safetensors", state, nullptr, skip_integer);
  } else if (std::filesystem::exists(dir / "model.safetensors.index.json")) {
    const auto index = io::read_json(dir / "model.safetensors.index.json");
    if (!index.contains("weight_map") || !index["weight_map"].is_object())
      throw InputError((dir / "model.safetensors.index.json").string() + ": no weight_map");
    std::set<std::string> shards;
    for (const auto& [name, file] : index["weight_map"].items()) shards.insert(file.get<std::string>());
    for (const auto& shard : shards) read_safetensors_into(dir / shard, state, nullptr, skip_integer);
  } else {
    throw InputError(dir.string() + ": no model.safetensors or model.safetensors.index.json (pytorch_model.bin is "
                     "not read; convert it to safetensors)");
  }
  return state;
}

inline std::string shape_string(at::IntArrayRef shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// Moves a loaded tensor into a parameter or buffer of the same shape. The storage is
// adopted when the types agree, so the weights are not held twice (a ViT-L/14 is 1.7 GB in
// float32); otherwise the values are converted. `loaded` is left empty.
inline void move_weight_into(torch::Tensor& target, torch::Tensor& loaded) {
  if (loaded.scalar_type() == target.scalar_type() && loaded.is_contiguous()) target.set_data(loaded);
  else target.copy_(loaded);
  loaded = torch::Tensor();
}

// Throws InputError("<source>: weights do not fit <architecture>: missing ...; ...")
// unless all three lists are empty.
inline void check_weights_fit(const std::string& source, const std::string& architecture,
                              const std::vector<std::string>& missing, const std::vector<std::string>& unexpected,
                              const std::vector<std::string>& mismatched) {
  if (missing.empty() && unexpected.empty() && mismatched.empty()) return;
  auto first = [](const std::vector<std::string>& names) {
    std::string s;
    for (std::size_t i = 0; i < names.size() && i < 4; ++i) s += (i ? ", " : "") + names[i];
    if (names.size() > 4) s += ", ... (" + std::to_string(names.size()) + " in all)";
    return s;
  };
  std::string message = source + ": weights do not fit " + architecture + ":";
  if (!missing.empty()) message += " missing " + first(missing) + ";";
  if (!unexpected.empty()) message += " unexpected " + first(unexpected) + ";";
  if (!mismatched.empty()) message += " shape mismatch " + first(mismatched) + ";";
  message.pop_back();
  throw InputError(message);
}

}  // namespace recap::models::detail
