#include "recap/linalg/float32_products.h"

#include <cblas.h>
#include <omp.h>

#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>
#include <stdexcept>
#include <vector>

#include "recap/common/compute.h"
#include "recap/linalg/onednn_race.h"

namespace recap::linalg {
namespace {

// Bumped whenever the products or the measurement change enough to make old choices wrong.
constexpr int kChoiceVersion = 2;  // 2: oneDNN's matmul primitive instead of dnnl_sgemm, best of five

// oneDNN's full XᵀX does twice ssyrk's work, so it must be more than twice as fast to win.
constexpr double kGramFullProductFactor = 2.0;

// Sets the calling thread's OpenMP count (oneDNN's) to OpenBLAS's for one product, and back.
class OnednnThreadsAsBlas {
 public:
  OnednnThreadsAsBlas() : previous_(omp_get_max_threads()) {
    const int blas = std::max(1, openblas_get_num_threads());
    if (blas != previous_) omp_set_num_threads(blas);
  }
  ~OnednnThreadsAsBlas() {
    if (omp_get_max_threads() != previous_) omp_set_num_threads(previous_);
  }
  OnednnThreadsAsBlas(const OnednnThreadsAsBlas&) = delete;
  OnednnThreadsAsBlas& operator=(const OnednnThreadsAsBlas&) = delete;

 private:
  int previous_;
};

void multiply_openblas(const Product& p) {
  cblas_sgemm(CblasRowMajor, p.a_transposed ? CblasTrans : CblasNoTrans, p.b_transposed ? CblasTrans : CblasNoTrans,
              static_cast<int>(p.m), static_cast<int>(p.n), static_cast<int>(p.k), 1.0f, p.a, static_cast<int>(p.lda),
              p.b, static_cast<int>(p.ldb), p.beta, p.c, static_cast<int>(p.ldc));
}

dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

// oneDNN's matmul primitive (its brgemm kernels), not dnnl_sgemm: on the Zen 5 the
// search's queries x base-rowsᵀ ran at 369 against 250-265 GFLOP/s, the fit's XᵀY at
// 328 against 325. Transposes are strides, so nothing is copied; beta is a sum post-op.
void multiply_onednn(const Product& p) {
  if (p.k == 0) {  // no products: C = beta C, which oneDNN has no primitive for
    for (std::int64_t i = 0; i < p.m; ++i)
      for (std::int64_t j = 0; j < p.n; ++j) p.c[i * p.ldc + j] = p.beta == 0 ? 0.0f : p.beta * p.c[i * p.ldc + j];
    return;
  }
  using dims = dnnl::memory::dims;
  constexpr auto f32 = dnnl::memory::data_type::f32;
  const dnnl::memory::desc a_md(dims{p.m, p.k}, f32, p.a_transposed ? dims{1, p.lda} : dims{p.lda, 1});
  const dnnl::memory::desc b_md(dims{p.k, p.n}, f32, p.b_transposed ? dims{1, p.ldb} : dims{p.ldb, 1});
  const dnnl::memory::desc c_md(dims{p.m, p.n}, f32, dims{p.ldc, 1});
  dnnl::primitive_attr attr;
  if (p.beta != 0) {
    dnnl::post_ops sum;
    sum.append_sum(p.beta);
    attr.set_post_ops(sum);
  }
  auto& engine = cpu_engine();
  const OnednnThreadsAsBlas threads;  // before the primitive: oneDNN blocks for its thread count
  dnnl::matmul::primitive_desc pd;
  try {
    // oneDNN's own primitive cache makes this a few µs for a shape it has seen.
    pd = dnnl::matmul::primitive_desc(dnnl::matmul::desc(a_md, b_md, c_md), attr, engine);
  } catch (const dnnl::error& e) {
    throw std::runtime_error("oneDNN refused a " + std::to_string(p.m) + " x " + std::to_string(p.n) + " x " +
                             std::to_string(p.k) + " float32 product: " + e.what());
  }
  thread_local dnnl::stream stream(engine);
  dnnl::matmul(pd).execute(stream, {{DNNL_ARG_SRC, dnnl::memory(a_md, engine, const_cast<float*>(p.a))},
                                    {DNNL_ARG_WEIGHTS, dnnl::memory(b_md, engine, const_cast<float*>(p.b))},
                                    {DNNL_ARG_DST, dnnl::memory(c_md, engine, p.c)}});
  stream.wait();
}

// Random values in [-1, 1): the measurement's and the check's inputs.
std::vector<float> random_values(std::size_t count, unsigned seed) {
  std::mt19937 generator(seed);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<float> values(count);
  for (auto& v : values) v = uniform(generator);
  return values;
}

// oneDNN's product against a float64 one, in all four transpositions multiply() accepts
// (oneDNN picks its kernel per layout): a kernel that computes wrong results on this CPU
// must never be chosen, however fast.
bool onednn_matches_reference() {
  const std::int64_t m = 67, n = 129, k = 93;
  const auto a = random_values(m * k, 5), b = random_values(k * n, 6);
  for (const bool a_t : {false, true})
    for (const bool b_t : {false, true}) {
      std::vector<float> c(static_cast<std::size_t>(m * n), 0.5f);
      const Product p{a_t, b_t, m, n, k, a.data(), a_t ? m : k, b.data(), b_t ? k : n, 1.0f, c.data(), n};
      try {
        multiply_onednn(p);
      } catch (const std::runtime_error&) {
        return false;
      }
      for (std::int64_t i = 0; i < m; ++i)
        for (std::int64_t j = 0; j < n; ++j) {
          double want = 0.5, scale = 1.5;
          for (std::int64_t t = 0; t < k; ++t) {
            const double x = a_t ? a[t * m + i] : a[i * k + t], y = b_t ? b[j * k + t] : b[t * n + j];
            want += x * y;
            scale += std::abs(x * y);
          }
          if (std::abs(c[i * n + j] - want) > 1e-5 * scale) return false;
        }
    }
  return true;
}

// GFLOP/s of `engine` on `threads` threads (oneDNN runs on as many as OpenBLAS has, see
// OnednnThreadsAsBlas) on one block of the fit (XᵀY, 2,048 pairs of 768-d rows) and one of
// the search (1,024 queries against 2,048 base rows, d = 512), best of five runs each (the
// best of three swung from 250 to 395 GFLOP/s for oneDNN on the Zen 5).
double measure_gflops(Float32Engine engine, int threads) {
  const ScopedBlasThreads blas_threads(threads);
  struct Shape {
    bool a_t, b_t;
    std::int64_t m, n, k;
  };
  const Shape shapes[] = {{true, false, 768, 768, 2048}, {false, true, 1024, 2048, 512}};
  double seconds = 0, flops = 0;
  for (const auto& s : shapes) {
    const auto a = random_values(s.m * s.k, 1), b = random_values(s.k * s.n, 2);
    std::vector<float> c(static_cast<std::size_t>(s.m * s.n));
    const Product p{s.a_t, s.b_t, s.m, s.n, s.k, a.data(), s.a_t ? s.m : s.k, b.data(), s.b_t ? s.k : s.n,
                    0.0f,  c.data(), s.n};
    multiply_on(engine, p);  // warm-up: first-touch pages, kernel generation
    double best = 1e30;
    for (int run = 0; run < 5; ++run) {
      const auto start = std::chrono::steady_clock::now();
      multiply_on(engine, p);
      best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    seconds += best;
    flops += 2.0 * double(s.m) * double(s.n) * double(s.k);
  }
  return flops / seconds / 1e9;
}

Float32EngineChoice make_choice() {
  OnednnRace race;
  race.variable = "RECAP_FLOAT32_GEMM";
  race.blas_engine = "openblas";
  race.blas_label = "OpenBLAS";
  race.cache_file = "float32-products.json";
  race.version = kChoiceVersion;
  race.onednn_verified = onednn_is_ours() && onednn_matches_reference();
  race.onednn_gflops = [](int threads) { return measure_gflops(Float32Engine::onednn, threads); };
  race.blas_gflops = [](int threads) { return measure_gflops(Float32Engine::openblas, threads); };
  const auto result = race_onednn(race);
  Float32EngineChoice choice;
  choice.engine = result.onednn ? Float32Engine::onednn : Float32Engine::openblas;
  choice.reason = result.reason;
  choice.openblas_gflops = result.blas_gflops;
  choice.onednn_gflops = result.onednn_gflops;
  return choice;
}

}  // namespace

const char* engine_name(Float32Engine engine) { return engine == Float32Engine::onednn ? "oneDNN" : "OpenBLAS"; }

void multiply_on(Float32Engine engine, const Product& p) {
  if (p.m <= 0 || p.n <= 0) return;
  if (engine == Float32Engine::onednn)
    multiply_onednn(p);
  else
    multiply_openblas(p);
}

void multiply(const Product& p) { multiply_on(float32_engine().engine, p); }

void gram_upper(const float* x, std::int64_t n, std::int64_t d, float* out) {
  const auto& choice = float32_engine();
  if (choice.engine == Float32Engine::onednn &&
      choice.onednn_gflops > kGramFullProductFactor * choice.openblas_gflops) {
    multiply_onednn(Product{true, false, d, d, n, x, d, x, d, 0.0f, out, d});
    return;
  }
  cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, static_cast<int>(d), static_cast<int>(n), 1.0f, x,
              static_cast<int>(d), 0.0f, out, static_cast<int>(d));
}

const Float32EngineChoice& float32_engine() {
  static const Float32EngineChoice choice = make_choice();
  return choice;
}

std::string describe_float32_engine() {
  const auto& c = float32_engine();
  return std::string("fit and search float32 products: ") + engine_name(c.engine) + " (" + c.reason + ")";
}

}  // namespace recap::linalg
