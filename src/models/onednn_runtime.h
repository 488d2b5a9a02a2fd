#pragma once
// What every oneDNN call in src/models shares: the CPU engine, the calling thread's
// stream, and the OpenMP thread count a call runs on (ScopedProductThreads, model_linear.h).
#include <oneapi/dnnl/dnnl.hpp>

namespace recap::models::detail {

dnnl::engine& cpu_engine();
dnnl::stream& thread_stream();  // one per calling thread: a stream is not shared across threads

// Sets the calling thread's OpenMP count to the ScopedProductThreads setting for one oneDNN
// call, and back. Create it before the primitive: oneDNN blocks for its thread count.
class ProductThreadCount {
 public:
  ProductThreadCount();
  ~ProductThreadCount();
  ProductThreadCount(const ProductThreadCount&) = delete;
  ProductThreadCount& operator=(const ProductThreadCount&) = delete;

 private:
  int previous_;
};

}  // namespace recap::models::detail
