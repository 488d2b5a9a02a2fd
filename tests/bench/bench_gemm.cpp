// The machine's GEMM peak, the yardstick for the fit and retrieval benchmarks: float32
// SGEMM and float64 DGEMM through OpenBLAS (whichever kernel init_compute() chose, or
// OPENBLAS_CORETYPE), and bfloat16 matmul with float32 accumulation through oneDNN (AMX
// where present). Random operands: zero pages would make memory traffic look free.
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <random>
#include <vector>

#include "bf16_gemm.h"
#include "recap/common/compute.h"

namespace {

std::vector<float> random_floats(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = u(rng);
  return v;
}

void set_flops(benchmark::State& state, double m, double n, double k) {
  state.counters["GFLOPs"] = benchmark::Counter(2 * m * n * k / 1e9, benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(recap::compute_info().blas_core);
}

void BM_Sgemm(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  auto a = random_floats(std::size_t(n) * n, 1), b = random_floats(std::size_t(n) * n, 2);
  std::vector<float> c(std::size_t(n) * n);
  for (auto _ : state)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n);
  set_flops(state, n, n, n);
}
BENCHMARK(BM_Sgemm)->Arg(4096)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);

void BM_Dgemm(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  auto af = random_floats(std::size_t(n) * n, 3), bf = random_floats(std::size_t(n) * n, 4);
  std::vector<double> a(af.begin(), af.end()), b(bf.begin(), bf.end()), c(std::size_t(n) * n);
  for (auto _ : state)
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0, a.data(), n, b.data(), n, 0.0, c.data(), n);
  set_flops(state, n, n, n);
}
BENCHMARK(BM_Dgemm)->Arg(4096)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);

// The shape retrieval uses: 512 queries x 16384 base rows x d.
void BM_Bf16Matmul(benchmark::State& state) {
  const std::int64_t m = 512, n = 16384, d = state.range(0);
  auto q = random_floats(std::size_t(m * d), 5), b = random_floats(std::size_t(n * d), 6);
  std::vector<std::uint16_t> q16(q.size()), b16(b.size());
  recap::retrieval::to_bfloat16(q.data(), q16.data(), m * d, 1);
  recap::retrieval::to_bfloat16(b.data(), b16.data(), n * d, 1);
  std::vector<float> c(std::size_t(m * n));
  recap::retrieval::Bf16ScoreGemm gemm(m, n, d);
  for (auto _ : state) gemm.run(q16.data(), m, b16.data(), n, c.data());
  set_flops(state, double(m), double(n), double(d));
  state.SetLabel(gemm.implementation());
}
BENCHMARK(BM_Bf16Matmul)->Arg(768)->Arg(512)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);

}  // namespace

int main(int argc, char** argv) {
  recap::init_compute(argv, 0);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  std::printf("compute: %s\n", recap::describe_compute().c_str());
  return 0;
}
