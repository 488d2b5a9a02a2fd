// The fused decoding-step attention against the reference's operations in float64.
#include <gtest/gtest.h>

#include "step_attention.h"

namespace recap::models::detail {
namespace {

torch::Tensor reference(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, const torch::Tensor& bias) {
  auto scores = torch::matmul(q.to(torch::kFloat64), k.to(torch::kFloat64).transpose(2, 3));
  if (bias.defined()) scores = scores + bias.to(torch::kFloat64);
  return torch::matmul(torch::softmax(scores, -1), v.to(torch::kFloat64));
}

TEST(StepAttention, EqualsSoftmaxAttentionWithBroadcastBias) {
  torch::manual_seed(3);
  // 37 rows x 12 heads, 15 cached positions, dk 64; a [1, H, 1, T] position bias.
  const auto q = torch::randn({37, 12, 1, 64}), k = torch::randn({37, 12, 15, 64}), v = torch::randn({37, 12, 15, 64});
  const auto bias = torch::randn({1, 12, 1, 15}) * 3;
  ASSERT_TRUE(single_query_attention_applies(q, k, v));
  const auto got = single_query_attention(q, k, v, bias);
  ASSERT_EQ(got.sizes(), q.sizes());
  EXPECT_LT((got.to(torch::kFloat64) - reference(q, k, v, bias)).abs().max().item<double>(), 1e-5);
}

TEST(StepAttention, TakesStridedViewsAndAPaddingBias) {
  torch::manual_seed(4);
  // Projections viewed as [B, L, H, dk] and transposed, as T5's project() gives them, and
  // a [B, 1, 1, T] padding bias that masks the last 3 positions of row 1.
  const auto kv = torch::randn({5, 9, 4 * 32});
  const auto k = kv.view({5, 9, 4, 32}).transpose(1, 2), v = (kv * 0.5).view({5, 9, 4, 32}).transpose(1, 2);
  const auto q = torch::randn({5, 1, 4 * 32}).view({5, 1, 4, 32}).transpose(1, 2);
  auto bias = torch::zeros({5, 1, 1, 9});
  bias.index_put_({1, 0, 0, torch::indexing::Slice(6, 9)}, std::numeric_limits<float>::lowest());
  const auto got = single_query_attention(q, k, v, bias);
  EXPECT_LT((got.to(torch::kFloat64) - reference(q, k, v, bias)).abs().max().item<double>(), 1e-5);
  // Masked positions get no weight: row 1 equals attention over its first 6 positions.
  const auto first6 = reference(q.narrow(0, 1, 1), k.narrow(0, 1, 1).narrow(2, 0, 6), v.narrow(0, 1, 1).narrow(2, 0, 6), {});
  EXPECT_LT((got.narrow(0, 1, 1).to(torch::kFloat64) - first6).abs().max().item<double>(), 1e-5);
}

TEST(StepAttention, BFloat16FollowsTheReferencesRoundings) {
  torch::manual_seed(5);
  const auto q = torch::randn({6, 8, 1, 64}).to(torch::kBFloat16), k = torch::randn({6, 8, 11, 64}).to(torch::kBFloat16),
             v = torch::randn({6, 8, 11, 64}).to(torch::kBFloat16);
  const auto bias = (torch::randn({1, 8, 1, 11}) * 2).to(torch::kBFloat16);
  const auto got = single_query_attention(q, k, v, bias);
  ASSERT_EQ(got.scalar_type(), torch::kBFloat16);
  // bfloat16 keeps 8 bits: the result is within a few of its units of the exact one.
  const auto exact = reference(q, k, v, bias);
  EXPECT_LT((got.to(torch::kFloat64) - exact).abs().max().item<double>(), 0.05);
}

TEST(StepAttention, DeclinesWhatItDoesNotCover) {
  const auto k = torch::randn({2, 3, 4, 8});
  EXPECT_FALSE(single_query_attention_applies(torch::randn({2, 3, 2, 8}), k, k));                      // two queries
  EXPECT_FALSE(single_query_attention_applies(torch::randn({2, 3, 1, 8}).to(torch::kFloat64), k, k));  // float64
  EXPECT_FALSE(single_query_attention_applies(torch::randn({2, 3, 1, 8}), k.transpose(2, 3), k));       // strided last dim
}

}  // namespace
}  // namespace recap::models::detail
