#include <ATen/Parallel.h>
#include <oneapi/dnnl/dnnl.hpp>
#include <omp.h>

#include <chrono>

#include "model_linear.h"
#include "onednn_runtime.h"
#include "packed_weights.h"
#include "recap/common/compute.h"
#include "recap/linalg/onednn_race.h"
#include "recap/models/model_gemm.h"
#include "torch_threads.h"

namespace recap::models {
namespace {

// Bumped whenever the products change enough to make old measurements wrong.
constexpr int kChoiceVersion = 4;  // 2: keyed by the process's thread setting; 3: OpenBLAS on as many
                                   // threads as oneDNN; 4: oneDNN measured first (linalg/onednn_race.h)

// The product through oneDNN, or an undefined tensor when oneDNN has no kernel for it on
// this CPU (bfloat16 without AVX-512, say): the caller then uses LibTorch.
// With bfloat16 weights and float32 x (a CPU CLIP in bfloat16), x is rounded to bfloat16
// for the product; the result is of `result_type` (float32 or bfloat16) either way.
torch::Tensor onednn_linear(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                            detail::DenseActivation activation, const torch::Tensor& residual,
                            torch::ScalarType result_type, std::string* implementation = nullptr) {
  const auto k = weight.size(1), n = weight.size(0);
  auto x2 = x.reshape({-1, k}).to(weight.scalar_type());
  if (x2.stride(1) != 1 || x2.stride(0) < k) x2 = x2.contiguous();
  const auto m = x2.size(0);
  const auto type = detail::onednn_type(weight.scalar_type());
  using dims = dnnl::memory::dims;
  // W is [n, k]; the product needs Wᵀ, [k, n], which is W's memory read with swapped strides,
  // or its packed copy where it has one (packed_weights.h).
  const dnnl::memory::desc src_md(dims{m, k}, type, dims{x2.stride(0), 1});
  const dnnl::memory::desc plain_weights_md(dims{k, n}, type, dims{weight.stride(1), weight.stride(0)});
  const dnnl::memory::desc dst_md(dims{m, n}, detail::onednn_type(result_type), dims{n, 1});
  dnnl::memory::desc bias_md;
  if (bias.defined()) bias_md = dnnl::memory::desc(dims{1, n}, detail::onednn_type(bias.scalar_type()), dims{n, 1});
  auto& engine = detail::cpu_engine();
  const detail::ProductThreadCount product_threads;  // before the primitive: oneDNN blocks for its thread count
  dnnl::primitive_attr attr;
  dnnl::post_ops ops;
  if (activation == detail::DenseActivation::quick_gelu)
    ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_swish, 1.702f, 0.0f);  // x * sigmoid(1.702 x)
  else if (activation == detail::DenseActivation::gelu_erf)
    ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_gelu_erf, 0.0f, 0.0f);
  torch::Tensor residual2;
  if (residual.defined()) {
    // Added as the results are written, after bias and activation: the reference's order.
    residual2 = residual.reshape({m, n}).contiguous();
    ops.append_binary(dnnl::algorithm::binary_add, dst_md);  // laid out as the result
  }
  if (ops.len() > 0) attr.set_post_ops(ops);
  auto descriptor = [&](const dnnl::memory::desc& weights_md) {
    return bias.defined()
               ? dnnl::matmul::primitive_desc(dnnl::matmul::desc(src_md, weights_md, bias_md, dst_md), attr, engine)
               : dnnl::matmul::primitive_desc(dnnl::matmul::desc(src_md, weights_md, dst_md), attr, engine);
  };
  // The numbers say what the layouts do not (the bias's type, the post-ops, the team size)
  // and tell problems apart cheaply; the layouts are compared only when they agree.
  auto product_for = [&](const dnnl::memory::desc& weights_md, bool packed_layout) {
    return detail::cached_primitive({m, k, n, x2.stride(0), std::int64_t(weight.scalar_type()),
                                     std::int64_t(result_type), packed_layout,
                                     bias.defined() ? std::int64_t(bias.scalar_type()) : -1, std::int64_t(activation),
                                     residual.defined(), omp_get_max_threads()},
                                    {src_md, weights_md, dst_md}, [&] { return dnnl::matmul(descriptor(weights_md)); });
  };
  dnnl::primitive product;
  detail::PackedWeight packed;
  try {
    packed = detail::packed_weight(weight, plain_weights_md, m, [&] {
      return descriptor(dnnl::memory::desc(dims{k, n}, type, dnnl::memory::format_tag::any)).weights_desc();
    }, engine);
    if (packed.memory) product = product_for(packed.memory.get_desc(), true);
  } catch (const dnnl::error&) {
    packed = {};  // no kernel reads this layout for this many rows: read W as it is
  }
  try {
    if (!packed.memory) product = product_for(plain_weights_md, false);
    if (implementation != nullptr)
      *implementation = descriptor(packed.memory ? packed.memory.get_desc() : plain_weights_md).impl_info_str();
  } catch (const dnnl::error&) {
    return {};
  }
  auto out = torch::empty({m, n}, x.options().dtype(result_type));
  const auto weights_mem = packed.memory ? packed.memory : dnnl::memory(plain_weights_md, engine, weight.data_ptr());
  std::unordered_map<int, dnnl::memory> args = {
      {DNNL_ARG_SRC, dnnl::memory(src_md, engine, x2.data_ptr())},
      {DNNL_ARG_WEIGHTS, weights_mem},
      {DNNL_ARG_DST, dnnl::memory(dst_md, engine, out.data_ptr())}};
  if (bias.defined()) args.emplace(DNNL_ARG_BIAS, dnnl::memory(bias_md, engine, bias.data_ptr()));
  if (residual2.defined())
    args.emplace(DNNL_ARG_ATTR_MULTIPLE_POST_OP(ops.len() - 1) | DNNL_ARG_SRC_1,
                 dnnl::memory(dst_md, engine, residual2.data_ptr()));
  detail::execute_and_wait(product, args);
  auto shape = x.sizes().vec();
  shape.back() = n;
  return out.view(shape);
}

// GFLOP/s of `product` on ViT-B/32- and FLAN-T5-base-like shapes, best of three runs each,
// with LibTorch, oneDNN and OpenBLAS all on `threads` threads, whatever scope the caller is
// in (CLIP's sharded encoding keeps OpenBLAS single-threaded).
template <class Product>
double gflops(int threads, Product product) {
  const detail::ScopedTorchThreads torch_threads(threads);
  const detail::ScopedProductThreads product_threads(threads);
  const ScopedBlasThreads blas_threads(threads);
  const std::int64_t shapes[][3] = {{256, 768, 768}, {256, 768, 3072}, {256, 3072, 768}, {64, 768, 2048}};
  double seconds = 0, flops = 0;
  torch::manual_seed(11);
  for (const auto& s : shapes) {
    const auto x = torch::randn({s[0], s[1]}), w = torch::randn({s[2], s[1]}), b = torch::randn({s[2]});
    product(x, w, b);  // warm-up: first-touch pages, kernel generation
    double best = 1e30;
    for (int rep = 0; rep < 3; ++rep) {
      const auto t0 = std::chrono::steady_clock::now();
      product(x, w, b);
      best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    seconds += best;
    flops += 2.0 * double(s[0]) * double(s[1]) * double(s[2]);
  }
  return flops / seconds / 1e9;
}

// oneDNN's float32 product against a float64 one: a kernel that computes wrong results on
// this CPU must never be chosen, however fast.
bool onednn_matches_reference(std::string* implementation) {
  torch::manual_seed(7);
  const auto x = torch::rand({67, 93}) * 2 - 1, w = torch::rand({129, 93}) * 2 - 1, b = torch::rand({129});
  const auto got = onednn_linear(x, w, b, detail::DenseActivation::none, {}, torch::kFloat32, implementation);
  if (!got.defined()) return false;
  const auto ref = torch::linear(x.to(torch::kFloat64), w.to(torch::kFloat64), b.to(torch::kFloat64));
  return ((got.to(torch::kFloat64) - ref).abs() <= 1e-4 * (1 + ref.abs())).all().item<bool>();
}

GemmChoice make_choice() {
  torch::NoGradGuard no_grad;
  GemmChoice choice;
  linalg::OnednnRace race;
  race.variable = "RECAP_MODEL_GEMM";
  race.blas_engine = "libtorch";
  race.blas_label = "LibTorch/OpenBLAS";
  race.cache_file = "model-gemm.json";
  race.version = kChoiceVersion;
  race.onednn_verified = linalg::onednn_is_ours() && onednn_matches_reference(&choice.onednn_implementation);
  race.onednn_gflops = [](int threads) {
    return gflops(threads, [](auto& x, auto& w, auto& b) {
      return onednn_linear(x, w, b, detail::DenseActivation::none, {}, torch::kFloat32);
    });
  };
  race.blas_gflops = [](int threads) {
    return gflops(threads, [](auto& x, auto& w, auto& b) { return torch::linear(x, w, b); });
  };
  const auto result = linalg::race_onednn(race);
  choice.float32 = result.onednn ? GemmEngine::onednn : GemmEngine::libtorch;
  choice.reason = result.reason;
  return choice;
}

}  // namespace

const GemmChoice& model_gemm_choice() {
  static const GemmChoice choice = make_choice();
  return choice;
}

bool dense_products_on_onednn(bool bfloat16_weights) {
  return linalg::onednn_is_ours() && (bfloat16_weights || model_gemm_choice().float32 == GemmEngine::onednn);
}

std::string describe_model_gemm() {
  const auto& c = model_gemm_choice();
  return std::string("model float32 products: ") +
         (c.float32 == GemmEngine::onednn ? "oneDNN " + c.onednn_implementation : std::string("LibTorch (OpenBLAS)")) +
         " (" + c.reason + "); bfloat16 products: " + (linalg::onednn_is_ours() ? "oneDNN" : "LibTorch");
}

namespace detail {

namespace {

torch::Tensor activate(torch::Tensor h, DenseActivation activation) {
  if (activation == DenseActivation::gelu_erf) return torch::gelu(h);
  if (activation == DenseActivation::quick_gelu) {
    // x * sigmoid(1.702 * x), the reference's arithmetic, with one temporary instead of three.
    auto gate = h * 1.702;
    gate.sigmoid_();
    h.mul_(gate);
  }
  return h;
}

}  // namespace

torch::Tensor dense(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                    DenseActivation activation, const torch::Tensor& residual,
                    std::optional<torch::ScalarType> result_type) {
  const auto type = weight.scalar_type();
  const bool mixed = type == torch::kBFloat16 && x.scalar_type() == torch::kFloat32;
  const auto result = result_type.value_or(residual.defined() ? residual.scalar_type() : x.scalar_type());
  if (residual.defined()) {
    auto shape = x.sizes().vec();
    shape.back() = weight.size(0);
    TORCH_CHECK(residual.sizes() == torch::IntArrayRef(shape), "dense: residual of shape ", residual.sizes(),
                " for a product of shape ", torch::IntArrayRef(shape));
  }
  const bool eligible =
      x.device().is_cpu() && weight.device().is_cpu() && (x.scalar_type() == type || mixed) &&
      (type == torch::kFloat32 || type == torch::kBFloat16) && weight.dim() == 2 && x.dim() >= 1 &&
      x.size(-1) == weight.size(1) && x.numel() > 0 && (weight.stride(0) == 1 || weight.stride(1) == 1) &&
      (!bias.defined() || (bias.dim() == 1 && bias.is_contiguous() &&
                           (bias.scalar_type() == type || bias.scalar_type() == torch::kFloat32))) &&
      (result == torch::kFloat32 || result == torch::kBFloat16) &&
      (!residual.defined() || (residual.device().is_cpu() && residual.scalar_type() == result)) &&
      !(torch::GradMode::is_enabled() &&
        (x.requires_grad() || weight.requires_grad() || (residual.defined() && residual.requires_grad())));
  if (eligible && dense_products_on_onednn(type == torch::kBFloat16)) {
    auto out = onednn_linear(x, weight, bias, activation, residual, result);
    if (out.defined()) return out;
  }
  torch::Tensor out;
  if (mixed || (type == torch::kBFloat16 && result == torch::kFloat32)) {  // as oneDNN: a float32 result
    const auto b = bias.defined() ? bias.to(type) : bias;
    out = activate(torch::linear(x.to(type), weight, b).to(torch::kFloat32), activation);
  } else {
    out = activate(torch::linear(x, weight, bias), activation);
  }
  if (residual.defined()) out = residual + out;
  return out.to(result);
}

}  // namespace detail
}  // namespace recap::models
