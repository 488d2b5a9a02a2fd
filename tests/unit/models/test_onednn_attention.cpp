// CLIP's attention on oneDNN (src/models/onednn_attention.cpp) against softmax(q kᵀ/√D + mask) v
// computed head by head in float64: strided q/k/v read in place, masks that broadcast,
// one query row against many keys, and the operands it leaves to LibTorch.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>

#include "dense_reference.h"
#include "onednn_attention.h"

namespace {

using recap::models::detail::onednn_attention;

// The definition, one (batch, head) at a time, in float64.
torch::Tensor reference_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, int heads,
                                  const torch::Tensor& mask) {
  const auto batch = q.size(0), lq = q.size(1), lk = k.size(1), width = q.size(2), d = width / heads;
  auto out = torch::zeros({batch, lq, width}, torch::kFloat64);
  const auto full_mask = mask.defined() ? mask.to(torch::kFloat64).expand({batch, heads, lq, lk}) : mask;
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t h = 0; h < heads; ++h) {
      const auto qh = q[b].narrow(1, h * d, d).to(torch::kFloat64);
      const auto kh = k[b].narrow(1, h * d, d).to(torch::kFloat64);
      const auto vh = v[b].narrow(1, h * d, d).to(torch::kFloat64);
      auto scores = qh.matmul(kh.t()) / std::sqrt(static_cast<double>(d));
      if (full_mask.defined()) scores = scores + full_mask[b][h];
      out[b].narrow(1, h * d, d).copy_(torch::softmax(scores, -1).matmul(vh));
    }
  return out;
}

TEST(OneDnnAttention, ChunksOfOneProjectionAreReadInPlace) {
  ASSERT_TRUE(dense_test::kOneDnnForced);
  torch::NoGradGuard no_grad;
  torch::manual_seed(21);
  const int heads = 4;  // head size 10: 1/√10 is not exact, so scaling the product differs by rounding only
  const auto qkv = torch::randn({3, 7, 3 * 40}).chunk(3, -1);
  const auto got = onednn_attention(qkv[0], qkv[1], qkv[2], heads, {});
  ASSERT_TRUE(got.defined());
  ASSERT_EQ(got.sizes(), (std::vector<std::int64_t>{3, 7, 40}));
  EXPECT_TRUE(got.is_contiguous());
  EXPECT_LT(dense_test::max_relative_error(got, reference_attention(qkv[0], qkv[1], qkv[2], heads, {})), 1e-5);
}

TEST(OneDnnAttention, CausalMaskHidesLaterPositions) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(22);
  const auto qkv = torch::randn({2, 9, 3 * 64}).chunk(3, -1);
  const auto mask = torch::full({9, 9}, -std::numeric_limits<float>::infinity()).triu(1);
  const auto got = onednn_attention(qkv[0], qkv[1], qkv[2], 2, mask);
  ASSERT_TRUE(got.defined());
  EXPECT_LT(dense_test::max_relative_error(got, reference_attention(qkv[0], qkv[1], qkv[2], 2, mask)), 1e-5);
  // Position 0 sees only itself: its output is its own value row.
  EXPECT_LT(dense_test::max_relative_error(got.select(1, 0), qkv[2].select(1, 0).to(torch::kFloat64)), 1e-6);
}

TEST(OneDnnAttention, OneQueryRowPerSequenceWithItsOwnMaskRow) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(23);
  const auto q = torch::randn({4, 1, 48});
  const auto kv = torch::randn({4, 11, 2 * 48}).chunk(2, -1);
  auto mask = torch::zeros({4, 1, 1, 11});
  mask.narrow(3, 6, 5).fill_(-std::numeric_limits<float>::infinity());  // keys 6.. hidden for every row
  mask[1].narrow(2, 2, 4).fill_(-std::numeric_limits<float>::infinity());  // and keys 2..5 for row 1
  const auto got = onednn_attention(q, kv[0], kv[1], 3, mask);
  ASSERT_TRUE(got.defined());
  EXPECT_LT(dense_test::max_relative_error(got, reference_attention(q, kv[0], kv[1], 3, mask)), 1e-5);
}

TEST(OneDnnAttention, BFloat16OperandsKeepFloat32ScoresAndSoftmax) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(25);
  const auto qkv = torch::randn({2, 9, 3 * 64}).to(torch::kBFloat16).chunk(3, -1);
  const auto mask = torch::full({9, 9}, -std::numeric_limits<float>::infinity()).triu(1);
  const auto want = reference_attention(qkv[0], qkv[1], qkv[2], 2, mask);  // of the bfloat16 values, in float64
  const auto got = onednn_attention(qkv[0], qkv[1], qkv[2], 2, mask);
  if (!got.defined()) GTEST_SKIP() << "no bfloat16 kernel on this CPU";
  ASSERT_EQ(got.scalar_type(), torch::kFloat32);
  // Only the softmax's weights are rounded (to 8 bits): far closer than float16 scores would be.
  EXPECT_LT(dense_test::max_relative_error(got, want), 4e-3);
  EXPECT_GT(dense_test::max_relative_error(got, want), 1e-7);  // and they really were rounded
  // Position 0 sees only itself: one weight of exactly 1, so its own value row, exactly.
  EXPECT_TRUE(torch::equal(got.select(1, 0), qkv[2].select(1, 0).to(torch::kFloat32)));
  const auto rounded = onednn_attention(qkv[0], qkv[1], qkv[2], 2, mask, torch::kBFloat16);
  ASSERT_EQ(rounded.scalar_type(), torch::kBFloat16);
  EXPECT_LT(dense_test::max_relative_error(rounded, got.to(torch::kFloat64)), 1.0 / 128);
  // A bfloat16 result of float32 operands is left to LibTorch (oneDNN 2.6 has no kernel for it).
  const auto f32 = torch::randn({1, 3, 8});
  EXPECT_FALSE(onednn_attention(f32, f32, f32, 2, {}, torch::kBFloat16).defined());
}

TEST(OneDnnAttention, LeavesOtherOperandsToLibTorch) {
  torch::manual_seed(24);
  const auto q = torch::randn({1, 3, 8}), k = torch::randn({1, 5, 8}), v = torch::randn({1, 5, 8});
  {
    torch::NoGradGuard no_grad;
    EXPECT_FALSE(onednn_attention(q.to(torch::kFloat64), k.to(torch::kFloat64), v.to(torch::kFloat64), 2, {}).defined());
    EXPECT_FALSE(onednn_attention(q.transpose(1, 2), k, v, 2, {}).defined());  // rows not contiguous
    EXPECT_FALSE(onednn_attention(q, k, v, 3, {}).defined());                  // 3 heads do not split 8
  }
  const auto trained = q.clone().requires_grad_();
  EXPECT_FALSE(onednn_attention(trained, k, v, 2, {}).defined());
}

}  // namespace
