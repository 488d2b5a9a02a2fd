// Both engines of the fit's and the search's float32 products against float64 products
// written out here, in the transpositions and leading dimensions the callers use.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "recap/common/compute.h"
#include "recap/linalg/float32_products.h"
#include "test_support.h"

using recap::linalg::Float32Engine;
using recap::linalg::Product;

namespace {

std::vector<float> random_values(std::int64_t count, std::uint32_t seed) {
  return recap::test::random_normal(count, 1, seed).values;
}

// Each entry of op(A) op(B) + beta C in float64, with Σ|a b| + |beta c| beside it: a
// float32 sum of k products is within ~k·2^-24 of that scale (error bound of the callers).
struct Expected {
  std::vector<double> value, scale;
};

Expected float64_product(const Product& p, const std::vector<float>& c_before) {
  Expected e{std::vector<double>(static_cast<std::size_t>(p.m * p.n)), std::vector<double>(static_cast<std::size_t>(p.m * p.n))};
  for (std::int64_t i = 0; i < p.m; ++i)
    for (std::int64_t j = 0; j < p.n; ++j) {
      const double c = c_before[static_cast<std::size_t>(i * p.ldc + j)];
      double sum = double(p.beta) * c, scale = std::abs(double(p.beta) * c);
      for (std::int64_t t = 0; t < p.k; ++t) {
        const double a = p.a_transposed ? p.a[t * p.lda + i] : p.a[i * p.lda + t];
        const double b = p.b_transposed ? p.b[j * p.ldb + t] : p.b[t * p.ldb + j];
        sum += a * b;
        scale += std::abs(a * b);
      }
      e.value[static_cast<std::size_t>(i * p.n + j)] = sum;
      e.scale[static_cast<std::size_t>(i * p.n + j)] = scale;
    }
  return e;
}

class BothEngines : public ::testing::TestWithParam<Float32Engine> {};

}  // namespace

// Padded leading dimensions (lda, ldb, ldc wider than the rows they hold) catch an
// engine called with a row-major/column-major or stride mix-up, which square, unpadded
// inputs would hide; beta = 1 checks the accumulation into C.
TEST_P(BothEngines, MatchAFloat64ProductInEveryTransposition) {
  const std::int64_t m = 37, n = 53, k = 301, pad = 3;
  for (const bool a_t : {false, true})
    for (const bool b_t : {false, true})
      for (const float beta : {0.0f, 1.0f}) {
        const std::int64_t lda = (a_t ? m : k) + pad, ldb = (b_t ? k : n) + pad, ldc = n + pad;
        const auto a = random_values((a_t ? k : m) * lda, 1);
        const auto b = random_values((b_t ? n : k) * ldb, 2);
        auto c = random_values(m * ldc, 3);
        const Product p{a_t, b_t, m, n, k, a.data(), lda, b.data(), ldb, beta, c.data(), ldc};
        const auto expected = float64_product(p, c);
        const auto before = c;
        recap::linalg::multiply_on(GetParam(), p);
        const double bound = 2.0 * double(k + 1) * std::ldexp(1.0, -24);
        for (std::int64_t i = 0; i < m; ++i) {
          for (std::int64_t j = 0; j < n; ++j) {
            const auto e = static_cast<std::size_t>(i * n + j);
            ASSERT_LE(std::abs(c[static_cast<std::size_t>(i * ldc + j)] - expected.value[e]), bound * expected.scale[e])
                << "a_t " << a_t << " b_t " << b_t << " beta " << beta << " at " << i << "," << j;
          }
          for (std::int64_t j = n; j < ldc; ++j)  // the padding beyond each row of C is not written
            ASSERT_EQ(c[static_cast<std::size_t>(i * ldc + j)], before[static_cast<std::size_t>(i * ldc + j)]);
        }
      }
}

INSTANTIATE_TEST_SUITE_P(Float32Products, BothEngines, ::testing::Values(Float32Engine::openblas, Float32Engine::onednn),
                         [](const auto& info) { return std::string(recap::linalg::engine_name(info.param)); });

// The upper triangle of XᵀX, on whichever engine the machine chose.
TEST(Float32Products, GramUpperIsTheUpperTriangleOfXtX) {
  const std::int64_t n = 517, d = 41;
  const auto x = random_values(n * d, 4);
  std::vector<float> out(static_cast<std::size_t>(d * d), 0.0f);
  recap::linalg::gram_upper(x.data(), n, d, out.data());
  const double bound = 2.0 * double(n) * std::ldexp(1.0, -24);
  for (std::int64_t i = 0; i < d; ++i)
    for (std::int64_t j = i; j < d; ++j) {
      double sum = 0, scale = 0;
      for (std::int64_t t = 0; t < n; ++t) {
        sum += double(x[t * d + i]) * x[t * d + j];
        scale += std::abs(double(x[t * d + i]) * x[t * d + j]);
      }
      ASSERT_LE(std::abs(out[i * d + j] - sum), bound * scale) << i << "," << j;
    }
}

// The choice says which engine it took and why, with the rates it measured (or the reason
// it measured nothing), as --verbose and mapping.json show it.
TEST(Float32Products, TheChoiceNamesItsEngineAndReason) {
  const auto& choice = recap::linalg::float32_engine();
  const std::string line = recap::linalg::describe_float32_engine();
  EXPECT_NE(line.find(recap::linalg::engine_name(choice.engine)), std::string::npos) << line;
  EXPECT_FALSE(choice.reason.empty());
  if (choice.reason.find("measure") != std::string::npos) {
    EXPECT_GT(choice.openblas_gflops, 0) << line;
    EXPECT_GT(choice.onednn_gflops, 0) << line;
    // A near tie keeps OpenBLAS: oneDNN is chosen only when clearly faster.
    EXPECT_EQ(choice.engine == Float32Engine::onednn, choice.onednn_gflops > 1.1 * choice.openblas_gflops) << line;
  }
}

// Zero rows or columns is no product at all and leaves C alone; zero inner length (no
// pairs) is C = beta C, as BLAS defines it, on both engines.
TEST(Float32Products, EmptyProductsFollowBlasRules) {
  const std::vector<float> a{1.0f}, b{1.0f};
  for (const auto engine : {Float32Engine::openblas, Float32Engine::onednn}) {
    std::vector<float> c{7.0f};
    recap::linalg::multiply_on(engine, Product{false, false, 0, 1, 1, a.data(), 1, b.data(), 1, 0.0f, c.data(), 1});
    EXPECT_EQ(c[0], 7.0f) << recap::linalg::engine_name(engine);
    recap::linalg::multiply_on(engine, Product{false, false, 1, 1, 0, a.data(), 1, b.data(), 1, 0.5f, c.data(), 1});
    EXPECT_EQ(c[0], 3.5f) << recap::linalg::engine_name(engine);
    recap::linalg::multiply_on(engine, Product{false, false, 1, 1, 0, a.data(), 1, b.data(), 1, 0.0f, c.data(), 1});
    EXPECT_EQ(c[0], 0.0f) << recap::linalg::engine_name(engine);
  }
}
