// Kendall tau against scipy, and the CLIP-S family against hand computations.
#include <gtest/gtest.h>

#include <cmath>

#include "recap/align/linear_map.h"
#include "recap/metrics/clip_score.h"
#include "recap/metrics/kendall.h"
#include "test_support.h"

using namespace recap;

// Values from scipy 1.10.1: scipy.stats.kendalltau(x, y, variant=...).statistic, with
// x = numpy.random.default_rng(5).integers(0, 5, 40) and y = x * 0.5 + rng.integers(0, 4, 40).
TEST(Kendall, EqualsScipyWithTies) {
  const std::vector<double> x = {3, 4, 0, 4, 2, 2, 3, 1, 4, 0, 1, 1, 2, 2, 0, 0, 0, 0, 0, 4,
                                 0, 3, 3, 1, 1, 2, 1, 4, 0, 4, 3, 4, 0, 1, 3, 2, 3, 3, 3, 0};
  const std::vector<double> y = {4.5, 4.0, 3.0, 3.0, 2.0, 4.0, 1.5, 0.5, 3.0, 2.0, 0.5, 3.5, 2.0, 1.0,
                                 2.0, 3.0, 3.0, 3.0, 1.0, 2.0, 3.0, 3.5, 4.5, 0.5, 0.5, 3.0, 1.5, 3.0,
                                 3.0, 2.0, 3.5, 3.0, 1.0, 3.5, 1.5, 2.0, 1.5, 1.5, 2.5, 2.0};
  EXPECT_NEAR(metrics::kendall_tau(x, y, metrics::KendallVariant::b), 0.17211633199680385, 1e-12);
  EXPECT_NEAR(metrics::kendall_tau(x, y, metrics::KendallVariant::c), 0.175, 1e-12);
  const std::vector<double> a = {1, 2, 3, 4, 5}, b = {5, 6, 7, 8, 7};
  EXPECT_NEAR(metrics::kendall_tau(a, b, metrics::KendallVariant::b), 0.7378647873726218, 1e-12);
  EXPECT_NEAR(metrics::kendall_tau(a, b, metrics::KendallVariant::c), 0.7466666666666667, 1e-12);
}

TEST(Kendall, PerfectAndReversedOrder) {
  const std::vector<double> x = {1, 2, 3, 4}, up = {10, 20, 30, 40}, down = {4, 3, 2, 1};
  EXPECT_DOUBLE_EQ(metrics::kendall_tau(x, up, metrics::KendallVariant::b), 1.0);
  EXPECT_DOUBLE_EQ(metrics::kendall_tau(x, down, metrics::KendallVariant::b), -1.0);
  EXPECT_THROW(metrics::kendall_tau({1}, {1}, metrics::KendallVariant::b), std::invalid_argument);
  EXPECT_THROW(metrics::kendall_tau({1, 2}, {1, NAN}, metrics::KendallVariant::b), std::invalid_argument);
}

namespace {
io::FloatMatrix rows(std::initializer_list<std::initializer_list<float>> values) {
  io::FloatMatrix m(static_cast<std::int64_t>(values.size()), static_cast<std::int64_t>(values.begin()->size()));
  std::int64_t i = 0;
  for (const auto& r : values) std::copy(r.begin(), r.end(), m.row(i++));
  return m;
}
}  // namespace

TEST(ClipScore, HandComputedValues) {
  // Image 0 vs candidate 0: cos = 0.6 -> CLIP-S 1.5. Image 1 vs candidate 1: cos = -1 -> 0.
  const auto images = rows({{1, 0}, {0, 2}});
  const auto candidates = rows({{0.6f, 0.8f}, {0, -1}});
  // References: candidate 0 has cosines 0.8 and 0 with its two; candidate 1 has cosine 1.
  const auto refs = rows({{0, 1}, {0.8f, -0.6f}, {0, -3}});
  const auto s = metrics::clip_scores(images, candidates, refs, {{0, 1}, {2}});
  EXPECT_NEAR(s.clip_s_per_image[0], 1.5, 1e-6);
  EXPECT_NEAR(s.clip_s_per_image[1], 0.0, 1e-12);
  EXPECT_NEAR(s.clip_s, 0.75, 1e-6);
  EXPECT_NEAR(s.ref_clip_s_per_image[0], 2 * 1.5 * 0.8 / (1.5 + 0.8), 1e-6);  // harmonic mean
  EXPECT_NEAR(s.ref_clip_s_per_image[1], 0.0, 1e-12);                        // 2·0·1/(0+1)
  EXPECT_THROW(metrics::clip_scores(images, candidates, refs, {{0}, {}}), std::invalid_argument);
}

TEST(ClipScore, AlignedWithIdentityMapEqualsClipS) {
  auto images = test::random_normal(20, 8, 1);
  auto candidates = test::random_normal(20, 8, 2);
  io::FloatMatrix identity(8, 8);
  for (int i = 0; i < 8; ++i) identity.row(i)[i] = 1;
  const auto plain = metrics::clip_scores(images, candidates, {}, {});
  const auto aligned = metrics::clip_scores(align::apply_map(images, identity, true), candidates, {}, {});
  for (int i = 0; i < 20; ++i) EXPECT_NEAR(plain.clip_s_per_image[i], aligned.clip_s_per_image[i], 1e-6);
  // A rotation applied to both sides leaves cosines unchanged; applied to the image only it does not.
  io::FloatMatrix swap(8, 8);
  for (int i = 0; i < 8; ++i) swap.row(i)[7 - i] = 1;
  const auto moved = metrics::clip_scores(align::apply_map(images, swap, true), candidates, {}, {});
  EXPECT_GT(std::fabs(moved.clip_s - plain.clip_s), 1e-3);
}
