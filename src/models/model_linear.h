#pragma once
// dense(x, W, b) = x Wᵀ + b for every dense layer of CLIP and T5, on the faster of two engines for this
// machine: LibTorch's own linear (OpenBLAS for float32) or oneDNN's matmul called
// directly. Which is faster depends on the CPU and on the environment, not on the model:
// where OPENBLAS_CORETYPE pins OpenBLAS to its AVX2 kernel on an AVX-512 CPU (AMD Zen 5),
// oneDNN's AVX-512 kernels run the ViT-B/32 products 2-3x faster; on a Xeon where OpenBLAS
// uses its SkylakeX kernel the two are close. So the float32 engine is measured once per
// CPU, library and thread count (model_gemm.cpp), verified against a float64 product, and
// cached. bfloat16 goes to oneDNN directly either way (LibTorch would call the same oneDNN
// kernels, through a layer that costs more than the product for decoder-step shapes).
// Products that need gradients always go to LibTorch (the trainers differentiate them).
#include <torch/torch.h>

#include <optional>

namespace recap::models::detail {

// An activation applied to the product. oneDNN applies it as the product's results are
// written, saving three passes over CLIP's widest activations (quick GELU is oneDNN's
// swish with alpha 1.702); LibTorch applies it afterwards.
enum class DenseActivation { none, quick_gelu, gelu_erf };

// weight: [out, in] (a row-major matrix or a transposed view of one); bias: [out] or undefined.
// residual (undefined, or of the result's shape and dtype) is added last, as a residual
// connection's `residual + layer(x)`: oneDNN adds it as the results are written, sparing
// a pass and a tensor.
// result_type: the result's dtype; by default the residual's, or else x's. A bfloat16 layer
// whose result only feeds another bfloat16 product asks for bfloat16: that product would
// round it to bfloat16 anyway (to nearest even, as oneDNN rounds its results), so the
// numbers are the same and a float32 tensor and a conversion pass are spared.
torch::Tensor dense(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias = {},
                    DenseActivation activation = DenseActivation::none, const torch::Tensor& residual = {},
                    std::optional<torch::ScalarType> result_type = std::nullopt);

// While it lives, oneDNN's products on the calling thread use `threads` OpenMP threads,
// whatever LibTorch's own count is there (T5 may run LibTorch's small operators on one
// thread while its products run on OpenBLAS's pool; see OnePool in t5_model.cpp).
class ScopedProductThreads {
 public:
  explicit ScopedProductThreads(int threads);
  ~ScopedProductThreads();
  ScopedProductThreads(const ScopedProductThreads&) = delete;
  ScopedProductThreads& operator=(const ScopedProductThreads&) = delete;

 private:
  int previous_;
};

}  // namespace recap::models::detail
