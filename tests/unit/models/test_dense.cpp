// The models' dense products (src/models/model_gemm.cpp) against float64 references: the
// oneDNN path this binary forces, transposed weights, fused activations, bfloat16 weights
// with float32 activations, and products that need gradients (LibTorch's path).
#include <gtest/gtest.h>
#include <omp.h>
#include <torch/torch.h>

#include <cstdlib>

#include "dense_reference.h"
#include "model_linear.h"
#include "recap/models/model_gemm.h"

namespace {

using recap::models::detail::dense;
using recap::models::detail::DenseActivation;

using dense_test::max_relative_error;
using dense_test::reference;

TEST(Dense, OneDnnIsChosenWhenForcedAndMatchesFloat64) {
  ASSERT_TRUE(dense_test::kOneDnnForced);
  torch::NoGradGuard no_grad;
  torch::manual_seed(3);
  const auto x = torch::randn({2, 37, 96}), w = torch::randn({130, 96}), b = torch::randn({130});
  const auto got = dense(x, w, b);
  const auto& choice = recap::models::model_gemm_choice();
  EXPECT_EQ(choice.float32, recap::models::GemmEngine::onednn) << choice.reason;
  EXPECT_NE(recap::models::describe_model_gemm().find("set by RECAP_MODEL_GEMM=onednn"), std::string::npos);
  ASSERT_EQ(got.sizes(), (std::vector<std::int64_t>{2, 37, 130}));
  EXPECT_LT(max_relative_error(got, reference(x, w, b)), 1e-5);
  EXPECT_LT(max_relative_error(dense(x, w), reference(x, w, {})), 1e-5);  // no bias
}

TEST(Dense, TransposedAndNarrowedWeightsAreReadInPlace) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(4);
  const auto x = torch::randn({9, 64});
  const auto proj = torch::randn({64, 48});  // CLIP's proj: x @ proj, given as proj.t()
  EXPECT_LT(max_relative_error(dense(x, proj.t()), x.to(torch::kFloat64).matmul(proj.to(torch::kFloat64))), 1e-5);
  const auto stacked = torch::randn({3 * 64, 64}), bias = torch::randn({3 * 64});  // in_proj: q, k, v rows
  const auto k = stacked.narrow(0, 64, 64), kb = bias.narrow(0, 64, 64);
  EXPECT_LT(max_relative_error(dense(x, k, kb), reference(x, k, kb)), 1e-5);
}

TEST(Dense, FusedActivationsMatchTheirDefinitions) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(5);
  const auto x = torch::randn({33, 80}), w = torch::randn({200, 80}) * 0.2, b = torch::randn({200});
  const auto h = reference(x, w, b);
  const auto quick = h * torch::sigmoid(1.702 * h);
  EXPECT_LT(max_relative_error(dense(x, w, b, DenseActivation::quick_gelu), quick), 1e-5);
  const auto erf_gelu = 0.5 * h * (1 + torch::erf(h / std::sqrt(2.0)));
  EXPECT_LT(max_relative_error(dense(x, w, b, DenseActivation::gelu_erf), erf_gelu), 1e-5);
}

TEST(Dense, ResidualIsAddedAfterBiasAndActivation) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(12);
  const auto x = torch::randn({2, 25, 80}), w = torch::randn({96, 80}) * 0.2, b = torch::randn({96});
  const auto residual = torch::randn({2, 25, 96}) * 10;
  const auto h = reference(x, w, b);
  EXPECT_LT(max_relative_error(dense(x, w, b, DenseActivation::none, residual), residual.to(torch::kFloat64) + h), 1e-5);
  const auto quick = h * torch::sigmoid(1.702 * h);
  EXPECT_LT(max_relative_error(dense(x, w, b, DenseActivation::quick_gelu, residual), residual.to(torch::kFloat64) + quick),
            1e-5);
  // A strided residual (a column of a wider tensor) is read by its values, not its memory.
  const auto wide = torch::randn({2, 25, 2 * 96});
  const auto strided = wide.narrow(2, 96, 96);
  EXPECT_LT(max_relative_error(dense(x, w, b, DenseActivation::none, strided), strided.to(torch::kFloat64) + h), 1e-5);
  // The residual is an input: left as it was.
  EXPECT_TRUE(torch::equal(strided, wide.narrow(2, 96, 96)));
  EXPECT_THROW(dense(x, w, b, DenseActivation::none, torch::randn({2, 25, 95})), c10::Error);
}

TEST(Dense, BFloat16WeightsWithFloat32ActivationsGiveFloat32) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(6);
  const auto x = torch::randn({20, 128}), w = torch::randn({64, 128}), b = torch::randn({64});
  const auto w16 = w.to(torch::kBFloat16);
  const auto got = dense(x, w16, b);
  EXPECT_EQ(got.scalar_type(), torch::kFloat32);
  // Exactly the product of the bfloat16-rounded operands, accumulated in float32.
  const auto want = reference(x.to(torch::kBFloat16), w16, b);
  EXPECT_LT(max_relative_error(got, want), 1e-5);
  // And not the float32 product: the weights really were rounded.
  EXPECT_GT(max_relative_error(got, reference(x, w, b)), 1e-4);
}

TEST(Dense, BFloat16ResultsAreTheFloat32ResultsRounded) {
  // CLIP's bfloat16 MLP writes its hidden activations in bfloat16 for c_proj, which would
  // round them so anyway: the numbers must be exactly those of the float32 route.
  torch::NoGradGuard no_grad;
  torch::manual_seed(13);
  const auto x = torch::randn({2, 25, 80}), b1 = torch::randn({200}), b2 = torch::randn({80});
  const auto w1 = (torch::randn({200, 80}) * 0.2).to(torch::kBFloat16);
  const auto w2 = (torch::randn({80, 200}) * 0.1).to(torch::kBFloat16);
  const auto residual = torch::randn({2, 25, 80});
  const auto hidden32 = dense(x, w1, b1, DenseActivation::quick_gelu);
  const auto hidden16 = dense(x, w1, b1, DenseActivation::quick_gelu, {}, torch::kBFloat16);
  ASSERT_EQ(hidden32.scalar_type(), torch::kFloat32);
  ASSERT_EQ(hidden16.scalar_type(), torch::kBFloat16);
  EXPECT_TRUE(torch::equal(hidden16, hidden32.to(torch::kBFloat16)));  // both round to nearest even
  // The next product reads bfloat16 activations with its float32 bias and residual, and
  // its result takes the residual's type.
  const auto out = dense(hidden16, w2, b2, DenseActivation::none, residual);
  ASSERT_EQ(out.scalar_type(), torch::kFloat32);
  EXPECT_TRUE(torch::equal(out, dense(hidden32, w2, b2, DenseActivation::none, residual)));
  EXPECT_LT(max_relative_error(out, residual.to(torch::kFloat64) + reference(hidden16, w2, b2)), 1e-5);
  // LibTorch's route (products that need gradients) gives the same types.
  const auto xg = x.clone().requires_grad_(true);
  torch::AutoGradMode grad(true);
  const auto hidden_g = dense(xg, w1, b1, DenseActivation::quick_gelu, {}, torch::kBFloat16);
  EXPECT_EQ(hidden_g.scalar_type(), torch::kBFloat16);
  const auto out_g = dense(hidden_g, w2, b2, DenseActivation::none, residual);
  EXPECT_EQ(out_g.scalar_type(), torch::kFloat32);
  EXPECT_TRUE(out_g.requires_grad());
  EXPECT_LT(max_relative_error(out_g.detach(), residual.to(torch::kFloat64) + reference(hidden_g.detach(), w2, b2)), 1e-2);
}

TEST(Dense, ProductsThatNeedGradientsStayDifferentiable) {
  torch::manual_seed(7);
  const auto x = torch::randn({5, 16}, torch::requires_grad()), w = torch::randn({8, 16}, torch::requires_grad());
  const auto y = dense(x, w, {}, DenseActivation::quick_gelu);
  ASSERT_TRUE(y.requires_grad());
  y.sum().backward();
  ASSERT_TRUE(w.grad().defined());
  const auto h = torch::linear(x.detach().to(torch::kFloat64), w.detach().to(torch::kFloat64));
  const auto s = torch::sigmoid(1.702 * h);
  // d/dh [h sigmoid(1.702 h)] summed over outputs, chained to w: Σ_rows (s + 1.702 h s (1 - s)) xᵀ
  const auto want = (s + 1.702 * h * s * (1 - s)).t().matmul(x.detach().to(torch::kFloat64));
  EXPECT_LT(max_relative_error(w.grad(), want), 1e-5);
}

TEST(Dense, ProductThreadsAreScopedToTheCallingThread) {
  torch::NoGradGuard no_grad;
  const auto x = torch::randn({4, 8}), w = torch::randn({3, 8});
  const auto want = reference(x, w, {});
  recap::models::model_gemm_choice();
  // Only after a first elementwise operation: LibTorch sets the thread's OpenMP count to
  // its own default there, unless at::set_num_threads was called (every tool calls it).
  (x - x).abs().max();
  const int before = omp_get_max_threads();
  {
    recap::models::detail::ScopedProductThreads scope(before + 1);
    EXPECT_LT(max_relative_error(dense(x, w), want), 1e-5);
    EXPECT_EQ(omp_get_max_threads(), before);  // set for each product, restored after it
  }
  EXPECT_EQ(omp_get_max_threads(), before);
}

}  // namespace
