// Packed weights (src/models/packed_weights.h): when a weight gets a packed copy, that the
// products reading it stay exact, and that a copy never outlives or misrepresents its
// weight (freed, changed in place, another view of the same storage).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <thread>
#include <vector>

#include "dense_reference.h"
#include "model_linear.h"
#include "packed_weights.h"

namespace {

using recap::models::detail::dense;
using recap::models::detail::kFewRows;
using recap::models::detail::kPackAfterProducts;
using recap::models::detail::packed_weights_stats;
using recap::models::detail::ScopedWeightPacking;

using dense_test::max_relative_error;
using dense_test::reference;

// Copies made by 2·kPackAfterProducts products of `rows` rows with one new weight.
std::size_t copies_made_by(std::int64_t rows) {
  const auto w = torch::randn({64, 80});
  const auto before = packed_weights_stats().copies;
  for (int i = 0; i < 2 * kPackAfterProducts; ++i) dense(torch::randn({rows, 80}), w);
  return packed_weights_stats().copies - before;
}

TEST(PackedWeights, AWeightIsPackedAtItsThresholdAndItsProductsStayExact) {
  ASSERT_TRUE(dense_test::kOneDnnForced);  // oneDNN serves the products on any CPU
  torch::NoGradGuard no_grad;
  const ScopedWeightPacking packing;
  torch::manual_seed(21);
  const auto w = torch::randn({200, 96}), b = torch::randn({200});
  const auto before = packed_weights_stats().copies;
  for (int i = 1; i <= kPackAfterProducts + 2; ++i) {
    const auto x = torch::randn({7, 96});
    EXPECT_LT(max_relative_error(dense(x, w, b), reference(x, w, b)), 1e-5) << "product " << i;
    EXPECT_EQ(packed_weights_stats().copies, before + (i >= kPackAfterProducts ? 1u : 0u)) << "product " << i;
  }
  EXPECT_GE(packed_weights_stats().bytes, 200u * 96u * sizeof(float));
  // Once packed, the copy serves products of any size.
  const auto many = torch::randn({kFewRows + 3, 96});
  EXPECT_LT(max_relative_error(dense(many, w, b), reference(many, w, b)), 1e-5);
}

TEST(PackedWeights, ProductsOutsideAPackingScopeOrOfManyRowsDoNotPack) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(20);
  EXPECT_EQ(copies_made_by(3), 0u);  // no ScopedWeightPacking: T5's products
  const ScopedWeightPacking packing;
  EXPECT_EQ(copies_made_by(kFewRows), 0u);
  EXPECT_EQ(copies_made_by(kFewRows - 1), 1u);
}

TEST(PackedWeights, AnInPlaceChangeOfTheWeightIsSeen) {
  torch::NoGradGuard no_grad;
  const ScopedWeightPacking packing;
  torch::manual_seed(23);
  auto w = torch::randn({48, 32});
  const auto x = torch::randn({5, 32});
  const auto before = packed_weights_stats().copies;
  for (int i = 0; i < kPackAfterProducts; ++i) dense(x, w);
  ASSERT_EQ(packed_weights_stats().copies, before + 1);
  w.mul_(-3);  // as an optimiser's step or a state dict loaded into the model would
  EXPECT_LT(max_relative_error(dense(x, w), reference(x, w, {})), 1e-5);
  w.copy_(torch::randn({48, 32}));
  for (int i = 0; i < kPackAfterProducts + 1; ++i) {
    EXPECT_LT(max_relative_error(dense(x, w), reference(x, w, {})), 1e-5) << "product " << i;
  }
}

TEST(PackedWeights, ACopyGoesWithItsWeightAndAReusedAddressIsNotMistaken) {
  torch::NoGradGuard no_grad;
  const ScopedWeightPacking packing;
  torch::manual_seed(24);
  const auto x = torch::randn({3, 40});
  const auto before = packed_weights_stats().copies;
  // Two weights in turn at one address (as an allocator may hand a freed block to the
  // next weight of the same size): same place, shape and version, different values.
  std::vector<float> block(56 * 40);
  auto weight_at_block = [&] {
    const auto values = torch::randn({56, 40});
    std::copy(values.data_ptr<float>(), values.data_ptr<float>() + block.size(), block.begin());
    return torch::from_blob(block.data(), {56, 40});
  };
  {
    const auto w = weight_at_block();
    for (int i = 0; i < kPackAfterProducts; ++i) dense(x, w);
    EXPECT_EQ(packed_weights_stats().copies, before + 1);
  }
  EXPECT_EQ(packed_weights_stats().copies, before);  // the weight is gone, so is its copy
  const auto w2 = weight_at_block();
  EXPECT_LT(max_relative_error(dense(x, w2), reference(x, w2, {})), 1e-5);
}

TEST(PackedWeights, ViewsOfOneStorageArePackedApart) {
  torch::NoGradGuard no_grad;
  const ScopedWeightPacking packing;
  torch::manual_seed(25);
  const auto stacked = torch::randn({3 * 64, 64}), bias = torch::randn({3 * 64});  // CLIP's in_proj
  const auto q = stacked.narrow(0, 0, 64), kv = stacked.narrow(0, 64, 128);
  const auto qb = bias.narrow(0, 0, 64), kvb = bias.narrow(0, 64, 128);
  const auto x = torch::randn({11, 64});
  for (int i = 0; i < kPackAfterProducts + 1; ++i) {
    EXPECT_LT(max_relative_error(dense(x, q, qb), reference(x, q, qb)), 1e-5);
    EXPECT_LT(max_relative_error(dense(x, kv, kvb), reference(x, kv, kvb)), 1e-5);
    EXPECT_LT(max_relative_error(dense(x, stacked.t().t()), reference(x, stacked, {})), 1e-5);
    EXPECT_LT(max_relative_error(dense(x, stacked.narrow(1, 0, 64).t().contiguous().t()),
                                 reference(x, stacked.narrow(1, 0, 64), {})), 1e-5);
  }
}

TEST(PackedWeights, BFloat16WeightsPackToo) {
  torch::NoGradGuard no_grad;
  const ScopedWeightPacking packing;
  torch::manual_seed(26);
  const auto w16 = torch::randn({96, 128}).to(torch::kBFloat16);
  const auto b = torch::randn({96});
  const auto before = packed_weights_stats().copies;
  for (int i = 0; i < kPackAfterProducts + 1; ++i) {
    const auto x = torch::randn({9, 128});
    const auto got = dense(x, w16, b);
    EXPECT_EQ(got.scalar_type(), torch::kFloat32);
    EXPECT_LT(max_relative_error(got, reference(x.to(torch::kBFloat16), w16, b)), 1e-5);
  }
  EXPECT_EQ(packed_weights_stats().copies, before + 1);
}

TEST(PackedWeights, ThreadsSharingAWeightGetExactProducts) {
  torch::NoGradGuard no_grad;
  const ScopedWeightPacking packing;
  torch::manual_seed(27);
  const auto w = torch::randn({300, 64}), b = torch::randn({300});
  const auto x = torch::randn({4, 64});
  const auto want = reference(x, w, b);
  std::vector<double> worst(4, 0.0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      torch::NoGradGuard thread_no_grad;
      const ScopedWeightPacking thread_packing;  // the scope is per thread
      for (int i = 0; i < 3 * kPackAfterProducts; ++i) {
        worst[t] = std::max(worst[t], max_relative_error(dense(x, w, b), want));
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int t = 0; t < 4; ++t) EXPECT_LT(worst[t], 1e-5) << "thread " << t;
}

}  // namespace
