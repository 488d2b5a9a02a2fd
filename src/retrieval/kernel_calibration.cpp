#include "kernel_calibration.h"

#include <fstream>
#include <nlohmann/json.hpp>

#include "recap/common/compute.h"
#include "recap/io/atomic_file.h"
#include "recap/io/embedding_cache.h"

namespace fs = std::filesystem;

namespace recap::retrieval {
namespace {

// Bumped whenever the kernels change enough to make old measurements wrong.
constexpr int kCostsVersion = 1;

fs::path costs_file() { return io::default_cache_root() / "search-kernels.json"; }

nlohmann::json read_all() {
  std::ifstream in(costs_file());
  if (!in) return nlohmann::json::object();
  const auto doc = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  return doc.is_object() ? doc : nlohmann::json::object();
}

}  // namespace

std::string kernel_costs_key(const std::string& implementation, long long d, long long query_block) {
  return cpu_model_name() + " | " + implementation + " | d=" + std::to_string(d) + " | queries=" +
         std::to_string(query_block) + " | v" + std::to_string(kCostsVersion);
}

std::optional<KernelCosts> load_kernel_costs(const std::string& key) {
  const auto all = read_all();
  if (!all.contains(key) || !all[key].is_object()) return std::nullopt;
  const auto& e = all[key];
  for (const char* field : {"fp32_per_score", "bf16_per_score", "bf16_per_base_value"})
    if (!e.contains(field) || !e[field].is_number() || e[field].get<double>() < 0) return std::nullopt;
  return KernelCosts{e["fp32_per_score"].get<double>(), e["bf16_per_score"].get<double>(),
                     e["bf16_per_base_value"].get<double>()};
}

void store_kernel_costs(const std::string& key, const KernelCosts& costs) {
  try {
    auto all = read_all();
    all[key] = {{"fp32_per_score", costs.fp32_per_score},
                {"bf16_per_score", costs.bf16_per_score},
                {"bf16_per_base_value", costs.bf16_per_base_value}};
    fs::create_directories(costs_file().parent_path());
    io::write_text_file(costs_file(), all.dump(2) + "\n");
  } catch (const std::exception&) {
  }
}

}  // namespace recap::retrieval
