#pragma once
// What every oneDNN call in src/models shares: the CPU engine, the calling thread's
// stream, and the OpenMP thread count a call runs on (ScopedProductThreads, model_linear.h).
#include <c10/core/ScalarType.h>
#include <oneapi/dnnl/dnnl.hpp>

#include <cstdint>
#include <functional>
#include <unordered_map>
#include <vector>

namespace recap::models::detail {

dnnl::engine& cpu_engine();
dnnl::stream& thread_stream();  // one per calling thread: a stream is not shared across threads

// Runs `primitive` on the calling thread's stream and waits for it.
void execute_and_wait(const dnnl::primitive& primitive, const std::unordered_map<int, dnnl::memory>& args);

// oneDNN's name for a tensor type the products use: bfloat16, or else float32.
inline dnnl::memory::data_type onednn_type(c10::ScalarType t) {
  return t == c10::ScalarType::BFloat16 ? dnnl::memory::data_type::bf16 : dnnl::memory::data_type::f32;
}

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

// The calling thread's primitive for the problem that `numbers` (sizes, types, options) and
// `descs` (its memory layouts) describe, made by `make` the first time. oneDNN's own cache
// spares generating a kernel again, not choosing one: creating the primitive descriptor
// of every matmul and softmax again cost 3% of CLIP's time at one caption per call.
// Add the OpenMP thread count to `numbers` where the primitive depends on it.
dnnl::primitive cached_primitive(std::vector<std::int64_t> numbers, std::vector<dnnl::memory::desc> descs,
                                 const std::function<dnnl::primitive()>& make);

}  // namespace recap::models::detail
