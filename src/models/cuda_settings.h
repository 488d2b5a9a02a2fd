#pragma once
// What a model on a GPU needs besides being moved there.
#include <ATen/Context.h>

namespace recap::models::detail {

// --dtype float32 on a GPU means IEEE float32 products and convolutions, as on the CPU.
// LibTorch lets cuDNN's convolutions (CLIP's patch embedding, a ResNet's whole tower) use
// TF32, 10 bits of mantissa, by default, and some builds let cuBLAS too: embeddings would
// then differ from the CPU's and the reference's by ~1e-3 instead of ~1e-6. bfloat16 and
// float16 are what to ask for when speed matters more. Process-wide, and only ever turned
// off: a later float32 model must not get TF32 back because a half-precision one loaded.
inline void use_ieee_float32_on_cuda() {
  at::globalContext().setAllowTF32CuBLAS(false);
  at::globalContext().setAllowTF32CuDNN(false);
}

}  // namespace recap::models::detail
