#include "kernel_calibration.h"

#include "recap/common/compute.h"
#include "recap/io/measurement_cache.h"

namespace recap::retrieval {
namespace {

// Bumped whenever the kernels change enough to make old measurements wrong.
constexpr int kCostsVersion = 3;  // 2: 2,048 queries x 4,096 rows per block; 3: fp32 on OpenBLAS or oneDNN

constexpr const char* kCostsFile = "search-kernels.json";

}  // namespace

std::string kernel_costs_key(const std::string& implementation, long long d, long long query_block) {
  return cpu_model_name() + " | " + implementation + " | d=" + std::to_string(d) + " | queries=" +
         std::to_string(query_block) + " | v" + std::to_string(kCostsVersion);
}

KernelCosts kernel_costs(const std::string& key, const std::function<KernelCosts()>& measure) {
  static constexpr const char* kFields[] = {"fp32_per_score", "bf16_per_score", "bf16_per_base_value"};
  const auto entry = io::measure_once(
      kCostsFile, key,
      [](const nlohmann::json& e) {
        for (const char* field : kFields)
          if (!e.contains(field) || !e[field].is_number() || e[field].get<double>() < 0) return false;
        return true;
      },
      [&] {
        const auto c = measure();
        return nlohmann::json{{kFields[0], c.fp32_per_score}, {kFields[1], c.bf16_per_score}, {kFields[2], c.bf16_per_base_value}};
      });
  return KernelCosts{entry[kFields[0]].get<double>(), entry[kFields[1]].get<double>(), entry[kFields[2]].get<double>()};
}

}  // namespace recap::retrieval
