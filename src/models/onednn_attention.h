#pragma once
// CLIP's scaled dot-product attention as two oneDNN matmuls and a softmax, reading q, k and
// v where the in-projection wrote them and writing the heads where the out-projection reads
// them. LibTorch's version (clip_modules.cpp) copies q scaled, k transposed and the output
// transposed back, and runs each (batch, head) product as a single-threaded BLAS call. With
// the residual adds fused into the products too, 128 ViT-B/32 images at one per call took
// 4.11 s of model time against 4.49 on 2 cores of a Zen 5 (single runs).
#include <torch/torch.h>

namespace recap::models::detail {

// q [B, Lq, W], k and v [B, Lk, W], float32 or bfloat16 (rows may be strided, as chunks of
// one [.., 3W] tensor, but each row contiguous); `heads` split W. `mask`, broadcastable to
// [B, heads, Lq, Lk], is added to the scores (undefined: none). Returns
// softmax(q kᵀ / √(W/heads) + mask) v as a contiguous [B, Lq, W] of `result_type` (float32,
// or the operands' type), or an undefined tensor when these operands are not for oneDNN
// (not on the CPU, gradients wanted, float32 products not on oneDNN here): then use
// LibTorch's attention. The scores and the softmax are float32 either way; with bfloat16
// operands the softmax's weights are rounded to bfloat16 for the product with v, as a
// bfloat16 PyTorch model does. For bfloat16 CLIP that spares converting q, k, v and the
// result (ViT-B/32 images 1.07x, captions 1.03x on a Zen 5, interleaved runs).
torch::Tensor onednn_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, int heads,
                               const torch::Tensor& mask, torch::ScalarType result_type = torch::kFloat32);

}  // namespace recap::models::detail
