#include "onednn_runtime.h"

#include <omp.h>

#include <unordered_map>
#include <utility>

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

void execute_and_wait(const dnnl::primitive& primitive, const std::unordered_map<int, dnnl::memory>& args) {
  auto& stream = thread_stream();
  primitive.execute(stream, args);
  stream.wait();
}

ProductThreadCount::ProductThreadCount() : previous_(omp_get_max_threads()) {
  if (t_product_threads > 0 && t_product_threads != previous_) omp_set_num_threads(t_product_threads);
}

ProductThreadCount::~ProductThreadCount() {
  if (omp_get_max_threads() != previous_) omp_set_num_threads(previous_);
}

namespace {

struct NumbersHash {
  std::size_t operator()(const std::vector<std::int64_t>& numbers) const {
    std::size_t h = numbers.size();
    for (auto v : numbers) h = h * 1000003u ^ std::hash<std::int64_t>()(v);
    return h;
  }
};

struct CachedPrimitive {
  std::vector<dnnl::memory::desc> descs;
  dnnl::primitive primitive;
};

// A model has a few dozen distinct problems; past this many, shapes are not repeating
// (varying lengths), and the cache starts over rather than grow.
constexpr std::size_t kMaxCachedPrimitives = 512;

}  // namespace

dnnl::primitive cached_primitive(std::vector<std::int64_t> numbers, std::vector<dnnl::memory::desc> descs,
                                 const std::function<dnnl::primitive()>& make) {
  thread_local std::unordered_multimap<std::vector<std::int64_t>, CachedPrimitive, NumbersHash> cache;
  const auto [first, last] = cache.equal_range(numbers);
  for (auto it = first; it != last; ++it)
    if (it->second.descs == descs) return it->second.primitive;
  auto primitive = make();
  if (cache.size() >= kMaxCachedPrimitives) cache.clear();
  cache.emplace(std::move(numbers), CachedPrimitive{std::move(descs), primitive});
  return primitive;
}

ScopedProductThreads::ScopedProductThreads(int threads) : previous_(t_product_threads) { t_product_threads = threads; }
ScopedProductThreads::~ScopedProductThreads() { t_product_threads = previous_; }

}  // namespace recap::models::detail
