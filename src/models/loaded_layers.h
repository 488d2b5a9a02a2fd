#pragma once
// Linear, Conv2d and Embedding layers whose parameters are allocated but not initialised.
// Every parameter of a recap model is overwritten by its loader, and torch::nn's layers
// spend ~1 s drawing random initial values for a ViT-B/32 that are then thrown away.
// Parameter names ("weight", "bias") match torch::nn's, so state dicts load unchanged.
#include <torch/torch.h>

#include "model_linear.h"

namespace recap::models::detail {

struct LoadedLinearImpl : torch::nn::Module {
  LoadedLinearImpl(std::int64_t in, std::int64_t out, bool with_bias = true) {
    weight = register_parameter("weight", torch::empty({out, in}));
    if (with_bias) bias = register_parameter("bias", torch::empty({out}));
  }
  // residual: added to the result as it is written; result_type: see dense().
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& residual = {},
                        std::optional<torch::ScalarType> result_type = std::nullopt) {
    return dense(x, weight, bias, DenseActivation::none, residual, result_type);
  }
  torch::Tensor weight, bias;
};
TORCH_MODULE(LoadedLinear);

// Square kernel and no bias, as every convolution in CLIP.
struct LoadedConv2dImpl : torch::nn::Module {
  LoadedConv2dImpl(std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t stride_, std::int64_t padding_)
      : stride(stride_), padding(padding_) {
    weight = register_parameter("weight", torch::empty({out, in, kernel, kernel}));
  }
  torch::Tensor forward(const torch::Tensor& x) { return torch::conv2d(x, weight, {}, stride, padding); }
  torch::Tensor weight;
  std::int64_t stride, padding;
};
TORCH_MODULE(LoadedConv2d);

struct LoadedEmbeddingImpl : torch::nn::Module {
  LoadedEmbeddingImpl(std::int64_t count, std::int64_t dim) {
    weight = register_parameter("weight", torch::empty({count, dim}));
  }
  torch::Tensor forward(const torch::Tensor& ids) { return torch::embedding(weight, ids); }
  torch::Tensor weight;
};
TORCH_MODULE(LoadedEmbedding);

}  // namespace recap::models::detail
