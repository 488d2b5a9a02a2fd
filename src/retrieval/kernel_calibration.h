#pragma once
// What each exact-search kernel costs on this machine, measured once and cached, so that
// SearchKernel::automatic picks the faster one for each search instead of assuming that
// native bfloat16 wins: on AMX it does by ~10x, but on a CPU with AVX-512 BF16 and no AMX
// a small batch of queries is faster in float32 (converting the base to bfloat16 costs
// more than the products save). Private to the retrieval layer.
#include <functional>
#include <string>

namespace recap::retrieval {

struct KernelCosts {
  double fp32_per_score = 0;        // seconds per query x base-row score, fp32 screened search
  double bf16_per_score = 0;        // the same with bfloat16 screening, conversions excluded
  double bf16_per_base_value = 0;   // seconds per base value converted to bfloat16 (once per search)
};

// The cache key of a measurement: CPU model, the kernels (oneDNN's bf16 implementation and
// the fp32 products' engine, linalg/float32_products.h), the dimension and the query block
// the costs were measured at.
std::string kernel_costs_key(const std::string& implementation, long long d, long long query_block);

// The costs cached under `key` in RECAP_CACHE (or ~/.cache/recap)/search-kernels.json, or
// else `measure`'s, stored: measured once per machine, under a lock (io::measure_once).
KernelCosts kernel_costs(const std::string& key, const std::function<KernelCosts()>& measure);

}  // namespace recap::retrieval
