// Sharded fitting: shards are disjoint slices that cover the data and do not depend on
// its order, and W from the shards' combined statistics equals W over the whole data
// (within 1e-6) for every method and several shard counts.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>

#include "expect_error.h"
#include "recap/align/fit.h"
#include "recap/align/fit_statistics.h"
#include "recap/common/error.h"
#include "recap/common/rows.h"
#include "recap/common/shard.h"
#include "recap/io/npy.h"
#include "test_support.h"

using namespace recap;
namespace fs = std::filesystem;

namespace {

TEST(Shard, ParsesIOverNAndRefusesAnythingElse) {
  EXPECT_EQ(parse_shard("0/1"), (Shard{0, 1}));
  EXPECT_EQ(parse_shard("2/3"), (Shard{2, 3}));
  EXPECT_EQ(parse_shard("2/3").label(), "2/3");
  for (const char* bad : {"3/3", "1", "/3", "1/", "-1/3", "a/3", "1/b", "0/0", "1/2/3", " 1/3", "9999999999/99999999999"})
    EXPECT_THROW(parse_shard(bad), UsageError) << bad;
}

// Expected values computed independently (Python: FNV-1a 64 of the UTF-8 bytes, then
// splitmix64's finaliser), so that slices stay the same across builds and machines.
TEST(Shard, HashIsFnv1aThenSplitmixFinaliser) {
  EXPECT_EQ(stable_hash(""), 0xf52a15e9a9b5e89bULL);
  EXPECT_EQ(stable_hash("391895"), 0x6f4babeafa5c3225ULL);
  EXPECT_EQ(stable_hash("\xc3\xbcn\xc3\xaf" "code \xf0\x9f\x99\x82"), 0x479966352fb7f38bULL);
  EXPECT_TRUE((Shard{0, 3}).contains("391895"));
  EXPECT_TRUE((Shard{4, 7}).contains("391895"));
}

TEST(Shard, SlicesAreDisjointCoverEverythingAndAreBalanced) {
  const int keys = 20000;
  for (std::int64_t n : {1, 2, 3, 7, 16}) {
    std::vector<int> per_shard(static_cast<std::size_t>(n), 0);
    for (int k = 0; k < keys; ++k) {
      const std::string key = "COCO_train2014_" + std::to_string(100000 + k * 37);
      int owners = 0;
      for (std::int64_t i = 0; i < n; ++i)
        if (Shard{i, n}.contains(key)) {
          ++owners;
          ++per_shard[static_cast<std::size_t>(i)];
        }
      ASSERT_EQ(owners, 1) << key << " in " << owners << " of " << n << " shards";
    }
    for (int c : per_shard) EXPECT_NEAR(c, keys / n, 0.1 * keys / n) << "n = " << n;
  }
}

TEST(Shard, CompletenessCheckNamesTheMissingAndTheDuplicate) {
  EXPECT_NO_THROW(check_complete_shards({{1, 3}, {0, 3}, {2, 3}}, {"b", "a", "c"}));
  test::expect_error<InputError>([] { check_complete_shards({{0, 3}, {2, 3}}, {"a", "c"}); }, "1 of 3 shards missing (shard 1 of 3)");
  test::expect_error<InputError>([] { check_complete_shards({{0, 2}, {0, 2}, {1, 2}}, {"a", "b", "c"}); },
                                 "b and a are both shard 0/2");
  test::expect_error<InputError>([] { check_complete_shards({{0, 2}, {1, 3}}, {"a", "b"}); }, "b is shard 1/3 but a is shard 0/2");
}

// Training pairs with a known linear relation, noise, and rows of unequal norms.
struct Pairs {
  io::FloatMatrix x, y;
};
Pairs make_pairs(std::int64_t n, std::int64_t dx, std::int64_t dy) {
  Pairs p{test::random_normal(n, dx, 11), io::FloatMatrix(n, dy)};
  const io::FloatMatrix w = test::random_normal(dx, dy, 12), noise = test::random_normal(n, dy, 13);
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < dy; ++j) {
      double v = 0.3 * noise.row(i)[j];
      for (std::int64_t k = 0; k < dx; ++k) v += double(p.x.row(i)[k]) * w.row(k)[j];
      p.y.row(i)[j] = static_cast<float>(v);
    }
  return p;
}

// Statistics folders of `pairs` split into n shards by the hash of the row's name.
std::vector<fs::path> write_shards(const Pairs& pairs, std::int64_t n, bool normalize, align::Accumulation accumulation,
                                   const fs::path& root) {
  std::vector<fs::path> dirs;
  for (std::int64_t s = 0; s < n; ++s) {
    const Shard shard{s, n};
    align::GramAccumulator gram(pairs.x.cols, pairs.y.cols, true, accumulation);
    std::vector<float> x(static_cast<std::size_t>(pairs.x.cols)), y(static_cast<std::size_t>(pairs.y.cols));
    for (std::int64_t i = 0; i < pairs.x.rows; ++i) {
      if (!shard.contains("row" + std::to_string(i))) continue;
      x.assign(pairs.x.row(i), pairs.x.row(i) + pairs.x.cols);
      y.assign(pairs.y.row(i), pairs.y.row(i) + pairs.y.cols);
      if (normalize) {
        normalize_rows(x.data(), 1, pairs.x.cols);
        normalize_rows(y.data(), 1, pairs.y.cols);
      }
      gram.add(x.data(), y.data(), 1);
    }
    dirs.push_back(root / ("shard" + std::to_string(s)));
    fs::create_directories(dirs.back());
    align::write_fit_statistics(dirs.back(), gram, normalize, shard, {{"inputs", "test"}});
  }
  return dirs;
}

TEST(ShardedFit, EqualsTheWholeFitForEveryMethodAndShardCount) {
  const Pairs pairs = make_pairs(3000, 24, 16);
  test::TempDir tmp;
  int folder = 0;
  for (auto accumulation : {align::Accumulation::mixed, align::Accumulation::float64})
    for (std::int64_t n : {1, 2, 3, 5})
      for (auto method : {align::Method::procrustes, align::Method::ols, align::Method::ridge}) {
        align::FitOptions options;
        options.method = method;
        options.lambda = method == align::Method::ridge ? 10.0 : 0.0;
        options.accumulation = accumulation;
        const auto whole = align::fit_in_memory(pairs.x, pairs.y, options);
        const auto dirs = write_shards(pairs, n, true, accumulation, tmp / std::to_string(folder++));
        const auto combined = align::combine_fit_statistics(dirs);
        EXPECT_EQ(combined.gram.count(), 3000);
        const auto sharded = align::solve(combined.gram, options);
        double worst = 0;
        for (std::size_t i = 0; i < whole.w.values.size(); ++i)
          worst = std::max(worst, std::fabs(double(whole.w.values[i]) - sharded.w.values[i]));
        EXPECT_LT(worst, 1e-6) << align::method_name(method) << ", " << n << " shards";
        // The residual is Σ‖y‖² − 2 tr(WᵀXᵀY) + tr(WᵀXᵀXW), a difference of terms ~30x larger than
        // itself, so float32 block sums (mixed) carry ~1e-7 relative error into it 30-fold.
        EXPECT_NEAR(sharded.report.residual, whole.report.residual, 1e-5 * whole.report.residual);
      }
}

TEST(ShardedFit, NoneNeedsSquareStatisticsAndGivesTheIdentity) {
  const Pairs pairs = make_pairs(400, 8, 8);
  test::TempDir tmp;
  align::FitOptions options;
  options.method = align::Method::none;
  const auto sharded = align::solve(align::combine_fit_statistics(write_shards(pairs, 2, true, {}, tmp.path())).gram, options);
  for (std::int64_t i = 0; i < 8; ++i)
    for (std::int64_t j = 0; j < 8; ++j) EXPECT_EQ(sharded.w.row(i)[j], i == j ? 1.0f : 0.0f);
}

TEST(ShardedFit, RefusesIncompleteMixedOrDamagedStatistics) {
  const Pairs pairs = make_pairs(500, 6, 4);
  test::TempDir tmp;
  const auto dirs = write_shards(pairs, 3, true, align::Accumulation::mixed, tmp / "a");
  test::expect_error<InputError>([&] { align::combine_fit_statistics({dirs[0], dirs[2]}); }, "1 of 3 shards missing");
  test::expect_error<InputError>([&] { align::combine_fit_statistics({dirs[0], dirs[1], dirs[1], dirs[2]}); },
                                 "are both shard 1/3");
  // Order of naming does not matter.
  EXPECT_NO_THROW(align::combine_fit_statistics({dirs[2], dirs[0], dirs[1]}));

  const auto raw = write_shards(pairs, 3, false, align::Accumulation::mixed, tmp / "raw");
  test::expect_error<InputError>([&] { align::combine_fit_statistics({dirs[0], raw[1], dirs[2]}); }, "--no-normalize");

  const Pairs other = make_pairs(500, 6, 5);
  const auto wide = write_shards(other, 3, true, align::Accumulation::mixed, tmp / "wide");
  test::expect_error<InputError>([&] { align::combine_fit_statistics({dirs[0], wide[1], dirs[2]}); }, "6 x 5 statistics");

  // A truncated matrix, a folder that holds no statistics.
  const std::string bytes = test::read_bytes(dirs[1] / "xty.npy");
  test::write_bytes(dirs[1] / "xty.npy", bytes.substr(0, bytes.size() - 8));
  test::expect_error<InputError>([&] { align::combine_fit_statistics(dirs); }, (dirs[1] / "xty.npy").string());
  test::expect_error<InputError>([&] { align::combine_fit_statistics({tmp.path()}); }, "no statistics.json");
}

TEST(ShardedFit, StatisticsMatricesAreFloat64NpyFilesNumpyCanRead) {
  const Pairs pairs = make_pairs(100, 3, 2);
  test::TempDir tmp;
  const auto dirs = write_shards(pairs, 1, false, align::Accumulation::float64, tmp.path());
  std::vector<std::int64_t> shape;
  const auto xtx = io::read_npy_float64(dirs[0] / "xtx.npy", &shape);
  ASSERT_EQ(shape, (std::vector<std::int64_t>{3, 3}));
  // XᵀX[0][1] computed directly from the rows.
  double expected = 0;
  for (std::int64_t i = 0; i < 100; ++i) expected += double(pairs.x.row(i)[0]) * pairs.x.row(i)[1];
  EXPECT_NEAR(xtx[1], expected, 1e-9 * std::fabs(expected) + 1e-12);
  EXPECT_EQ(xtx[1], xtx[3]);  // symmetric, both triangles written
}

}  // namespace
