#include "step_attention.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace recap::models::detail {

bool single_query_attention_applies(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v) {
  const auto type = q.scalar_type();
  return q.device().is_cpu() && k.device().is_cpu() && v.device().is_cpu() &&
         (type == torch::kFloat32 || type == torch::kBFloat16) && k.scalar_type() == type && v.scalar_type() == type &&
         q.dim() == 4 && k.dim() == 4 && v.dim() == 4 && q.size(2) == 1 && k.sizes() == v.sizes() &&
         k.size(0) == q.size(0) && k.size(1) == q.size(1) && k.size(3) == q.size(3) && k.size(2) > 0 &&
         q.stride(3) == 1 && k.stride(3) == 1 && v.stride(3) == 1 &&
         !(torch::GradMode::is_enabled() && (q.requires_grad() || k.requires_grad() || v.requires_grad()));
}

namespace {

// Rounds a float32 value to the operands' dtype and back, as the reference's tensors do.
template <typename T>
inline float in_dtype(float x) {
  return static_cast<float>(static_cast<T>(x));
}

// Σ a[d] b[d] in 16 interleaved float32 sums added pairwise: the compiler vectorises
// independent sums, not one chain of dependent additions.
template <typename T>
inline float dot(const T* a, const T* b, std::int64_t n) {
  constexpr int kLanes = 16;
  float lanes[kLanes] = {};
  std::int64_t d = 0;
  for (; d + kLanes <= n; d += kLanes)
    for (int l = 0; l < kLanes; ++l) lanes[l] += static_cast<float>(a[d + l]) * static_cast<float>(b[d + l]);
  for (; d < n; ++d) lanes[d % kLanes] += static_cast<float>(a[d]) * static_cast<float>(b[d]);
  for (int width = kLanes / 2; width > 0; width /= 2)
    for (int l = 0; l < width; ++l) lanes[l] += lanes[l + width];
  return lanes[0];
}

template <typename T>
void attend_rows(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, const torch::Tensor& bias,
                 torch::Tensor& out) {
  const auto batch = q.size(0), heads = q.size(1), length = k.size(2), dk = q.size(3);
  const T* qp = q.data_ptr<T>();
  const T* kp = k.data_ptr<T>();
  const T* vp = v.data_ptr<T>();
  T* op = out.data_ptr<T>();
  const float* bp = bias.defined() ? bias.data_ptr<float>() : nullptr;
  const auto qs = q.strides(), ks = k.strides(), vs = v.strides(), os = out.strides();
  const auto bs = bias.defined() ? bias.strides() : at::IntArrayRef();
  // Enough (row, head) pairs per task to cover the thread start for short caches.
  const std::int64_t grain = std::max<std::int64_t>(1, 4096 / std::max<std::int64_t>(1, length * dk));
  at::parallel_for(0, batch * heads, grain, [&](std::int64_t begin, std::int64_t end) {
    std::vector<float> weights(static_cast<std::size_t>(length)), acc(static_cast<std::size_t>(dk));
    for (std::int64_t i = begin; i < end; ++i) {
      const auto b = i / heads, h = i % heads;
      const T* qrow = qp + b * qs[0] + h * qs[1];
      float top = -std::numeric_limits<float>::infinity();
      for (std::int64_t t = 0; t < length; ++t) {
        const T* krow = kp + b * ks[0] + h * ks[1] + t * ks[2];
        float score = in_dtype<T>(dot(qrow, krow, dk));
        if (bp != nullptr) score = in_dtype<T>(score + bp[b * bs[0] + h * bs[1] + t * bs[3]]);
        weights[t] = score;
        top = std::max(top, score);
      }
      float sum = 0;
      for (std::int64_t t = 0; t < length; ++t) {
        weights[t] = std::exp(weights[t] - top);
        sum += weights[t];
      }
      std::fill(acc.begin(), acc.end(), 0.0f);
      for (std::int64_t t = 0; t < length; ++t) {
        const float w = in_dtype<T>(weights[t] / sum);
        const T* vrow = vp + b * vs[0] + h * vs[1] + t * vs[2];
        for (std::int64_t d = 0; d < dk; ++d) acc[d] += w * static_cast<float>(vrow[d]);
      }
      T* orow = op + b * os[0] + h * os[1];
      for (std::int64_t d = 0; d < dk; ++d) orow[d] = static_cast<T>(acc[d]);
    }
  });
}

}  // namespace

torch::Tensor single_query_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                     const torch::Tensor& bias) {
  const auto batch = q.size(0), heads = q.size(1), length = k.size(2);
  // The bias as float32 with explicit broadcast strides (a [1, H, 1, T] position bias
  // reads the same row for every batch entry).
  torch::Tensor b;
  if (bias.defined()) b = bias.to(torch::kFloat32).expand({batch, heads, 1, length});
  auto out = torch::empty({batch, heads, 1, q.size(3)}, q.options());
  if (q.scalar_type() == torch::kBFloat16)
    attend_rows<at::BFloat16>(q, k, v, b, out);
  else
    attend_rows<float>(q, k, v, b, out);
  return out;
}

}  // namespace recap::models::detail
