#include "onednn_attention.h"

#include <omp.h>

#include <cmath>
#include <vector>

#include "onednn_runtime.h"
#include "recap/models/model_gemm.h"

namespace recap::models::detail {
namespace {

using dims = dnnl::memory::dims;
constexpr auto f32 = dnnl::memory::data_type::f32;

bool rows_contiguous(const torch::Tensor& t) { return t.dim() == 3 && t.stride(2) == 1; }

}  // namespace

torch::Tensor onednn_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, int heads,
                               const torch::Tensor& mask, torch::ScalarType result_type) {
  const auto type = q.scalar_type();
  const bool applies =
      q.device().is_cpu() && (type == torch::kFloat32 || type == torch::kBFloat16) && k.scalar_type() == type &&
      v.scalar_type() == type && (result_type == torch::kFloat32 || result_type == type) && rows_contiguous(q) &&
      rows_contiguous(k) && rows_contiguous(v) &&
      k.sizes() == v.sizes() && q.size(0) == k.size(0) && q.size(2) == k.size(2) && heads > 0 &&
      q.size(2) % heads == 0 && q.numel() > 0 && k.numel() > 0 &&
      (!mask.defined() || (mask.device().is_cpu() && mask.scalar_type() == torch::kFloat32)) &&
      !(torch::GradMode::is_enabled() && (q.requires_grad() || k.requires_grad() || v.requires_grad())) &&
      dense_products_on_onednn(/*bfloat16_weights=*/type == torch::kBFloat16);
  if (!applies) return {};
  const auto batch = q.size(0), lq = q.size(1), lk = k.size(1), width = q.size(2), head_dim = width / heads;
  // Head h of a row is columns [h·D, (h+1)·D): each operand is read as [B, H, L, D] through
  // its strides, with no copy.
  const auto operands = onednn_type(type);
  const dnnl::memory::desc q_md(dims{batch, heads, lq, head_dim}, operands, dims{q.stride(0), head_dim, q.stride(1), 1});
  const dnnl::memory::desc k_transposed_md(dims{batch, heads, head_dim, lk}, operands,
                                           dims{k.stride(0), head_dim, 1, k.stride(1)});
  const dnnl::memory::desc v_md(dims{batch, heads, lk, head_dim}, operands, dims{v.stride(0), head_dim, v.stride(1), 1});
  // Scores and the softmax are float32 whatever the operands; the weights it writes are
  // rounded to the operands' type for the product with v.
  const dnnl::memory::desc scores_md(dims{batch, heads, lq, lk}, f32, dnnl::memory::format_tag::abcd);
  const dnnl::memory::desc weights_md(dims{batch, heads, lq, lk}, operands, dnnl::memory::format_tag::abcd);
  // The heads written back side by side: [B, Lq, W], as the out-projection reads them.
  const dnnl::memory::desc out_md(dims{batch, heads, lq, head_dim}, onednn_type(result_type),
                                  dims{lq * width, head_dim, width, 1});

  auto& engine = cpu_engine();
  const ProductThreadCount threads;
  try {
    // The reference scales q by 1/√D before the product; scaling the product instead is
    // the same for CLIP's head size of 64 (1/8 is exact) and within rounding otherwise.
    // Sizes and strides tell problems apart cheaply; cached_primitive compares the layouts.
    const std::int64_t team = omp_get_max_threads();
    const std::vector<std::int64_t> problem = {batch, heads, lq, lk, head_dim, q.stride(0), q.stride(1),
                                               k.stride(0), k.stride(1), v.stride(0), v.stride(1), team,
                                               std::int64_t(type), std::int64_t(result_type)};
    auto numbered = [&](std::int64_t step) {
      auto numbers = problem;
      numbers.push_back(step);
      return numbers;
    };
    const auto scores_product = cached_primitive(numbered(1), {q_md, k_transposed_md, scores_md}, [&] {
      dnnl::primitive_attr scaled;
      scaled.set_output_scales(0, {static_cast<float>(1.0 / std::sqrt(static_cast<double>(head_dim)))});
      return dnnl::matmul(
          dnnl::matmul::primitive_desc(dnnl::matmul::desc(q_md, k_transposed_md, scores_md), scaled, engine));
    });
    const auto softmax = cached_primitive(numbered(2), {scores_md, weights_md}, [&] {
      return dnnl::softmax_v2_forward(dnnl::softmax_v2_forward::primitive_desc(
          dnnl::softmax_v2_forward::desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::softmax_accurate,
                                         scores_md, weights_md, 3),
          engine));
    });
    const auto weighted_sum = cached_primitive(numbered(3), {weights_md, v_md, out_md}, [&] {
      return dnnl::matmul(dnnl::matmul::primitive_desc(dnnl::matmul::desc(weights_md, v_md, out_md), engine));
    });

    auto scores = torch::empty({batch, heads, lq, lk}, q.options().dtype(torch::kFloat32));
    // float32 weights overwrite their scores (the softmax runs in place); bfloat16 ones
    // need room of their own.
    const auto weights = type == torch::kFloat32 ? scores : torch::empty({batch, heads, lq, lk}, q.options());
    auto out = torch::empty({batch, lq, width}, q.options().dtype(result_type));
    const dnnl::memory scores_mem(scores_md, engine, scores.data_ptr());
    const dnnl::memory weights_mem(weights_md, engine, weights.data_ptr());
    execute_and_wait(scores_product, {{DNNL_ARG_SRC, dnnl::memory(q_md, engine, q.data_ptr())},
                                      {DNNL_ARG_WEIGHTS, dnnl::memory(k_transposed_md, engine, k.data_ptr())},
                                      {DNNL_ARG_DST, scores_mem}});
    if (mask.defined()) scores.add_(mask);
    execute_and_wait(softmax, {{DNNL_ARG_SRC, scores_mem}, {DNNL_ARG_DST, weights_mem}});
    execute_and_wait(weighted_sum, {{DNNL_ARG_SRC, weights_mem},
                                    {DNNL_ARG_WEIGHTS, dnnl::memory(v_md, engine, v.data_ptr())},
                                    {DNNL_ARG_DST, dnnl::memory(out_md, engine, out.data_ptr())}});
    return out;
  } catch (const dnnl::error&) {
    return {};  // no oneDNN kernel for these layouts on this CPU
  }
}

}  // namespace recap::models::detail
