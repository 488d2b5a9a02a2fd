#pragma once
// What the dense-product tests compare with: float64 products, and a relative error.
// Including this forces the models' float32 products onto oneDNN for the whole test
// binary (set before its first product: the engine is chosen once per process).
#include <torch/torch.h>

#include <cstdlib>

namespace dense_test {

inline const bool kOneDnnForced = [] { return ::setenv("RECAP_MODEL_GEMM", "onednn", 1) == 0; }();

inline torch::Tensor reference(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
  return torch::linear(x.to(torch::kFloat64), w.to(torch::kFloat64), b.defined() ? b.to(torch::kFloat64) : b);
}

inline double max_relative_error(const torch::Tensor& got, const torch::Tensor& want) {
  return ((got.to(torch::kFloat64) - want).abs().max() / (1.0 + want.abs().max())).item<double>();
}

}  // namespace dense_test
