#include "kernel_calibration.h"

#include "recap/common/compute.h"
#include "recap/io/measurement_cache.h"

namespace recap::retrieval {
namespace {

// Bumped whenever the kernels change enough to make old measurements wrong.
constexpr int kCostsVersion = 2;  // 2: 2,048 queries x 4,096 rows per block

constexpr const char* kCostsFile = "search-kernels.json";

}  // namespace

std::string kernel_costs_key(const std::string& implementation, long long d, long long query_block) {
  return cpu_model_name() + " | " + implementation + " | d=" + std::to_string(d) + " | queries=" +
         std::to_string(query_block) + " | v" + std::to_string(kCostsVersion);
}

std::optional<KernelCosts> load_kernel_costs(const std::string& key) {
  const auto entry = io::load_measurement(kCostsFile, key);
  if (!entry) return std::nullopt;
  const auto& e = *entry;
  for (const char* field : {"fp32_per_score", "bf16_per_score", "bf16_per_base_value"})
    if (!e.contains(field) || !e[field].is_number() || e[field].get<double>() < 0) return std::nullopt;
  return KernelCosts{e["fp32_per_score"].get<double>(), e["bf16_per_score"].get<double>(),
                     e["bf16_per_base_value"].get<double>()};
}

void store_kernel_costs(const std::string& key, const KernelCosts& costs) {
  io::store_measurement(kCostsFile, key,
                        {{"fp32_per_score", costs.fp32_per_score},
                         {"bf16_per_score", costs.bf16_per_score},
                         {"bf16_per_base_value", costs.bf16_per_base_value}});
}

}  // namespace recap::retrieval
