#pragma once
// Reporting weights that do not fit a model (private to src/models): every loader lists
// the first few missing, unexpected and wrongly shaped tensors in one InputError.
#include <torch/torch.h>

#include <string>
#include <vector>

#include "recap/common/error.h"

namespace recap::models::detail {

inline std::string shape_string(at::IntArrayRef shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
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
