// Exact top-k search on real files, for the side-by-side comparison with FAISS that
// scripts/bench.sh runs. Reads RECAP_BENCH_BASE (n x d .npy, normalised rows) and
// RECAP_BENCH_QUERIES (q x d .npy) and RECAP_BENCH_K; writes ids to RECAP_BENCH_IDS_OUT
// when set so that the script can check the results equal FAISS's. RECAP_BENCH_KERNEL
// picks auto | fp32 | bf16; RECAP_BENCH_QUERY_BLOCK / RECAP_BENCH_BASE_BLOCK override blocking.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <string>

#include "recap/common/compute.h"
#include "recap/io/npy.h"
#include "recap/retrieval/exact_search.h"

using namespace recap;

namespace {

std::string env(const char* name, const char* fallback = "") {
  const char* v = std::getenv(name);
  return v != nullptr ? v : fallback;
}

void BM_ExactTopK(benchmark::State& state) {
  const io::NpyMatrixReader base(env("RECAP_BENCH_BASE"));
  const io::FloatMatrix queries = io::read_npy_matrix(env("RECAP_BENCH_QUERIES"));
  const std::int64_t k = std::stoll(env("RECAP_BENCH_K", "8"));
  const float* data = base.direct_rows(0);
  retrieval::SearchOptions options;
  options.kernel = retrieval::parse_search_kernel(env("RECAP_BENCH_KERNEL", "auto"));
  options.query_block = std::stoll(env("RECAP_BENCH_QUERY_BLOCK", std::to_string(options.query_block).c_str()));
  options.base_block = std::stoll(env("RECAP_BENCH_BASE_BLOCK", std::to_string(options.base_block).c_str()));
  retrieval::TopK top;
  for (auto _ : state) {
    top = retrieval::exact_top_k(queries.data(), queries.rows, data, base.rows(), base.cols(), k, options);
    benchmark::DoNotOptimize(top.ids.data());
  }
  const double flops = 2.0 * static_cast<double>(base.rows()) * base.cols() * queries.rows;
  state.counters["GFLOPs"] = benchmark::Counter(flops / 1e9, benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(top.kernel);
  const std::string ids_out = env("RECAP_BENCH_IDS_OUT");
  if (!ids_out.empty()) io::write_npy(ids_out, top.ids.data(), {top.queries, top.k});
}
BENCHMARK(BM_ExactTopK)->Iterations(1)->Unit(benchmark::kSecond)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  recap::init_compute(argv, 0);
  benchmark::Initialize(&argc, argv);
  if (env("RECAP_BENCH_BASE").empty() || env("RECAP_BENCH_QUERIES").empty()) {
    std::fprintf(stderr, "bench_search: set RECAP_BENCH_BASE and RECAP_BENCH_QUERIES (see scripts/bench.sh)\n");
    return 2;
  }
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
