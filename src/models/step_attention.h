#pragma once
// Attention for one query position per row and head: a decoder step with a key/value
// cache. torch::matmul hands such shapes to bmm, which on the CPU loops over every
// (row, head) matrix with a select and a BLAS call each: 1,728 of them per layer and step
// for ReCap's 4 images x 36 samples x 12 heads, which took most of T5's decoding time.
// One pass per (row, head) here: the scores, their float32 softmax, the weighted sum.
#include <torch/torch.h>

namespace recap::models::detail {

// True when single_query_attention takes these operands (CPU, float32 or bfloat16, one
// query position); otherwise use the general path.
bool single_query_attention_applies(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v);

// q [B, H, 1, dk]; k, v [B, H, T, dk]; bias broadcastable to [B, H, 1, T] (undefined: none).
// Returns softmax(q kᵀ + bias) v as [B, H, 1, dk] in q's dtype, with the reference's
// roundings: scores in the operands' dtype, softmax in float32, weights back in the dtype.
torch::Tensor single_query_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                     const torch::Tensor& bias);

}  // namespace recap::models::detail
