#pragma once
// Dense weights in the blocked layout oneDNN's matmul kernels read, made once per weight.
// Handed a plain [out, in] matrix, oneDNN copies it into that layout inside every product.
// For a product of few rows that copy costs as much as the product: on 2 cores of a Zen 5,
// a ViT-B/32 MLP product ran at 232 GFLOP/s plain against 371 packed for an image's 50
// rows, 163 against 364 for a caption's 15 (bfloat16: 441 against 751, 274 against 678).
// From a few hundred rows on, the copy is spread over enough rows to cost little (one
// thread's 800-row products ran as fast plain as packed), while packing costs memory and
// time: one weight's size again, and fresh pages (26 ms for a 9 MB weight in that VM,
// where faulting in a page cost about 11 µs). So a weight is packed once it has served
// kPackAfterProducts products of fewer than kFewRows rows, and its packed copy then serves
// every product, while the weight lives unchanged. RECAP_PACK_WEIGHTS=0 turns it off.
//
// Only CLIP's encoders pack (ScopedWeightPacking). T5's decoding gained 8% greedy and
// nothing with 4 beams at FLAN-T5-base shape once packed, while packing its 1 GB of float32
// weights cost 0.9 s per process and that memory again.
#include <oneapi/dnnl/dnnl.hpp>
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <memory>

namespace recap::models::detail {

constexpr std::int64_t kFewRows = 256;
constexpr int kPackAfterProducts = 4;

// While it lives, products on the calling thread may pack their weights.
class ScopedWeightPacking {
 public:
  ScopedWeightPacking();
  ~ScopedWeightPacking();
  ScopedWeightPacking(const ScopedWeightPacking&) = delete;
  ScopedWeightPacking& operator=(const ScopedWeightPacking&) = delete;

 private:
  bool previous_;
};

// A weight's packed copy, or nothing (`memory` empty: read the weight as it is).
// `values` keeps the copy alive for as long as the product runs, even if another thread
// replaces it meanwhile (the weight changed).
struct PackedWeight {
  dnnl::memory memory;
  std::shared_ptr<void> values;
};

// The packed copy of `weight` for a product of `rows` rows, if it has one. Where the
// calling thread is in a ScopedWeightPacking, the product counts toward packing, and the
// copy is made now if this product is the one that tips it. `plain` describes the weight
// as it is; `best_layout` gives the layout the product reads best (a primitive descriptor
// made with format_tag::any), asked only when a copy is made. A weight that is already
// laid out that way, or that has no version counter (made in InferenceMode: it could
// change unseen), is never copied. Safe to call from several threads.
PackedWeight packed_weight(const torch::Tensor& weight, const dnnl::memory::desc& plain, std::int64_t rows,
                           const std::function<dnnl::memory::desc()>& best_layout, const dnnl::engine& engine);

// The packed copies held now, and their bytes (for tests).
struct PackedWeightsStats {
  std::size_t copies = 0;
  std::size_t bytes = 0;
};
PackedWeightsStats packed_weights_stats();

}  // namespace recap::models::detail
