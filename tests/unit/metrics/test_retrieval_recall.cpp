// recall@k and the modality gap on sets whose answers follow by hand.
#include <gtest/gtest.h>

#include <cmath>

#include "recap/common/error.h"
#include "recap/metrics/retrieval_recall.h"

using namespace recap;

namespace {

io::FloatMatrix rows(std::vector<std::vector<float>> values) {
  io::FloatMatrix m(static_cast<std::int64_t>(values.size()), static_cast<std::int64_t>(values.front().size()));
  for (std::size_t i = 0; i < values.size(); ++i) std::copy(values[i].begin(), values[i].end(), m.row(std::int64_t(i)));
  return m;
}

}  // namespace

TEST(RetrievalRecall, CountsAnImageWhoseOwnCaptionIsWithinTheTopK) {
  // Image 0 points along x, as its first caption: rank 1. Image 1 points along y and its
  // own caption along -y, so all three captions of image 0 rank above it: rank 4.
  const auto images = rows({{1, 0}, {0, 1}});
  const auto texts = rows({{2, 0}, {1, 1}, {0, -1}, {1, 0.5f}});
  const std::vector<std::int64_t> owner = {0, 0, 1, 0};
  const auto recall = metrics::text_retrieval_recall(images, texts, owner, {1, 2, 3, 4});
  EXPECT_DOUBLE_EQ(recall[0], 0.5);
  EXPECT_DOUBLE_EQ(recall[1], 0.5);
  EXPECT_DOUBLE_EQ(recall[2], 0.5);  // image 1: captions 1 (cos .71), 3 (.45) and 0 (0) are above its -1
  EXPECT_DOUBLE_EQ(recall[3], 1.0);
}

TEST(RetrievalRecall, TheGapIsTheDistanceBetweenTheCentres) {
  // Images at (1, 0) and (0, 1), captions at (-1, 0) and (0, -1): centres (.5, .5) and
  // (-.5, -.5), distance sqrt(2); each image's cosine with its own caption is -1, with the
  // other one 0.
  const auto images = rows({{3, 0}, {0, 2}});
  const auto texts = rows({{-1, 0}, {0, -5}});
  const auto gap = metrics::modality_gap(images, texts, {0, 1});
  EXPECT_NEAR(gap.centre_distance, std::sqrt(2.0), 1e-6);
  EXPECT_NEAR(gap.matched_cosine, -1.0, 1e-6);
  EXPECT_NEAR(gap.unmatched_cosine, 0.0, 1e-6);
}

TEST(RetrievalRecall, MismatchedInputsAreUsageErrors) {
  const auto images = rows({{1, 0}});
  EXPECT_THROW(metrics::text_retrieval_recall(images, rows({{1, 0, 0}}), {0}, {1}), UsageError);
  EXPECT_THROW(metrics::text_retrieval_recall(images, rows({{1, 0}}), {0, 0}, {1}), UsageError);
  EXPECT_THROW(metrics::text_retrieval_recall(images, rows({{1, 0}}), {3}, {1}), UsageError);
}
