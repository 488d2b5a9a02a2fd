#include "onednn_runtime.h"

#include <omp.h>

#include "model_linear.h"

namespace recap::models::detail {
namespace {

// 0: oneDNN calls use the calling thread's OpenMP count (LibTorch's); see ScopedProductThreads.
thread_local int t_product_threads = 0;

}  // namespace

dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

dnnl::stream& thread_stream() {
  thread_local dnnl::stream stream(cpu_engine());
  return stream;
}

ProductThreadCount::ProductThreadCount() : previous_(omp_get_max_threads()) {
  if (t_product_threads > 0 && t_product_threads != previous_) omp_set_num_threads(t_product_threads);
}

ProductThreadCount::~ProductThreadCount() {
  if (omp_get_max_threads() != previous_) omp_set_num_threads(previous_);
}

ScopedProductThreads::ScopedProductThreads(int threads) : previous_(t_product_threads) { t_product_threads = threads; }
ScopedProductThreads::~ScopedProductThreads() { t_product_threads = previous_; }

}  // namespace recap::models::detail
