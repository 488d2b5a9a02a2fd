// Closed-form fits checked against independent computations: least squares through a
// Householder QR of X itself (never forming XᵀX), ridge as an augmented least-squares
// problem, Procrustes through a Jacobi SVD, and a planted orthogonal map.
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "recap/align/fit.h"
#include "recap/common/error.h"
#include "recap/common/rows.h"
#include "recap/io/npy.h"
#include "test_support.h"

using namespace recap;
using Eigen::MatrixXd;

namespace {

MatrixXd to_eigen(const io::FloatMatrix& m) {
  MatrixXd out(m.rows, m.cols);
  for (std::int64_t i = 0; i < m.rows; ++i)
    for (std::int64_t j = 0; j < m.cols; ++j) out(i, j) = m.row(i)[j];
  return out;
}

io::FloatMatrix from_eigen(const MatrixXd& m) {
  io::FloatMatrix out(m.rows(), m.cols());
  for (Eigen::Index i = 0; i < m.rows(); ++i)
    for (Eigen::Index j = 0; j < m.cols(); ++j) out.row(i)[j] = static_cast<float>(m(i, j));
  return out;
}

double max_abs_diff(const io::FloatMatrix& a, const MatrixXd& b) { return (to_eigen(a) - b).cwiseAbs().maxCoeff(); }

MatrixXd random_orthogonal(int d, unsigned seed) {
  MatrixXd a = to_eigen(test::random_normal(d, d, seed));
  return Eigen::HouseholderQR<MatrixXd>(a).householderQ();
}

struct Data {
  io::FloatMatrix x, y;
};

// y = x A + noise with a random (non-orthogonal) A: a well-posed regression.
Data regression_data(int n, int dx, int dy, unsigned seed, double noise = 0.05) {
  Data d{test::random_normal(n, dx, seed), {}};
  MatrixXd a = to_eigen(test::random_normal(dx, dy, seed + 1));
  MatrixXd e = to_eigen(test::random_normal(n, dy, seed + 2)) * noise;
  d.y = from_eigen(to_eigen(d.x) * a + e);
  return d;
}

align::FitOptions options(align::Method method, bool normalize, double lambda = 0) {
  align::FitOptions o;
  o.method = method;
  o.normalize = normalize;
  o.lambda = lambda;
  return o;
}

}  // namespace

TEST(Fit, LeastSquaresEqualsQrSolution) {
  auto data = regression_data(500, 24, 16, 10);
  auto fit = align::fit_in_memory(data.x, data.y, options(align::Method::ols, false));
  MatrixXd reference = to_eigen(data.x).householderQr().solve(to_eigen(data.y));
  EXPECT_LT(max_abs_diff(fit.w, reference), 1e-5);
  EXPECT_EQ(fit.report.pairs, 500);
  EXPECT_GT(fit.report.rcond, 1e-3);
}

TEST(Fit, LeastSquaresOnNormalisedRows) {
  auto data = regression_data(400, 16, 16, 20);
  auto fit = align::fit_in_memory(data.x, data.y, options(align::Method::ols, true));
  io::FloatMatrix xn = data.x, yn = data.y;
  normalize_rows(xn);
  normalize_rows(yn);
  MatrixXd reference = to_eigen(xn).householderQr().solve(to_eigen(yn));
  EXPECT_LT(max_abs_diff(fit.w, reference), 1e-5);
}

TEST(Fit, RidgeEqualsAugmentedLeastSquares) {
  const double lambda = 3.5;
  auto data = regression_data(300, 20, 12, 30);
  auto fit = align::fit_in_memory(data.x, data.y, options(align::Method::ridge, false, lambda));
  // min ‖XW − Y‖² + λ‖W‖² is least squares on [X; √λ I] against [Y; 0].
  MatrixXd x_aug(300 + 20, 20), y_aug(300 + 20, 12);
  x_aug << to_eigen(data.x), std::sqrt(lambda) * MatrixXd::Identity(20, 20);
  y_aug << to_eigen(data.y), MatrixXd::Zero(20, 12);
  MatrixXd reference = x_aug.householderQr().solve(y_aug);
  EXPECT_LT(max_abs_diff(fit.w, reference), 1e-5);
}

TEST(Fit, ProcrustesEqualsJacobiSvd) {
  auto data = regression_data(200, 12, 12, 40, 0.5);
  auto fit = align::fit_in_memory(data.x, data.y, options(align::Method::procrustes, false));
  MatrixXd m = to_eigen(data.x).transpose() * to_eigen(data.y);
  Eigen::JacobiSVD<MatrixXd> svd(m, Eigen::ComputeFullU | Eigen::ComputeFullV);
  MatrixXd reference = svd.matrixU() * svd.matrixV().transpose();
  EXPECT_LT(max_abs_diff(fit.w, reference), 1e-5);
  MatrixXd w = to_eigen(fit.w);
  EXPECT_LT((w.transpose() * w - MatrixXd::Identity(12, 12)).cwiseAbs().maxCoeff(), 1e-5);
}

TEST(Fit, ProcrustesRecoversPlantedRotation) {
  const int d = 32;
  io::FloatMatrix x = test::random_normal(1000, d, 50);
  normalize_rows(x);
  MatrixXd q = random_orthogonal(d, 51);
  // Exact: y = x Q.
  io::FloatMatrix y = from_eigen(to_eigen(x) * q);
  auto exact = align::fit_in_memory(x, y, options(align::Method::procrustes, true));
  EXPECT_LT(max_abs_diff(exact.w, q), 1e-5);
  EXPECT_LT(exact.report.mean_residual, 1e-9);
  // Noisy: the error shrinks with the noise level.
  MatrixXd noise = to_eigen(test::random_normal(1000, d, 52)) * 1e-3;
  io::FloatMatrix y_noisy = from_eigen(to_eigen(x) * q + noise);
  auto noisy = align::fit_in_memory(x, y_noisy, options(align::Method::procrustes, false));
  EXPECT_LT(max_abs_diff(noisy.w, q), 5e-4);
}

TEST(Fit, RectangularProcrustesHasOrthonormalRowsOrColumns) {
  auto wide = regression_data(300, 8, 12, 60);
  auto fit = align::fit_in_memory(wide.x, wide.y, options(align::Method::procrustes, false));
  MatrixXd w = to_eigen(fit.w);
  EXPECT_LT((w * w.transpose() - MatrixXd::Identity(8, 8)).cwiseAbs().maxCoeff(), 1e-5);
  auto tall = regression_data(300, 12, 8, 61);
  auto fit2 = align::fit_in_memory(tall.x, tall.y, options(align::Method::procrustes, false));
  MatrixXd w2 = to_eigen(fit2.w);
  EXPECT_LT((w2.transpose() * w2 - MatrixXd::Identity(8, 8)).cwiseAbs().maxCoeff(), 1e-5);
}

TEST(Fit, ResidualMatchesDirectSum) {
  for (auto method : {align::Method::ols, align::Method::procrustes}) {
    auto data = regression_data(250, 10, 10, 70, 0.3);
    auto fit = align::fit_in_memory(data.x, data.y, options(method, false));
    MatrixXd r = to_eigen(data.x) * to_eigen(fit.w) - to_eigen(data.y);
    EXPECT_NEAR(fit.report.residual, r.squaredNorm(), 1e-4 * r.squaredNorm()) << align::method_name(method);
  }
}

TEST(Fit, SingularLeastSquaresIsReported) {
  auto few = regression_data(5, 10, 4, 80);
  EXPECT_THROW(align::fit_in_memory(few.x, few.y, options(align::Method::ols, false)), InputError);
  // Collinear: the last column repeats the first.
  auto data = regression_data(100, 6, 4, 81);
  for (std::int64_t i = 0; i < data.x.rows; ++i) data.x.row(i)[5] = data.x.row(i)[0];
  try {
    align::fit_in_memory(data.x, data.y, options(align::Method::ols, false));
    FAIL() << "singular system accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("ridge"), std::string::npos) << e.what();
  }
  // Ridge handles it.
  EXPECT_NO_THROW(align::fit_in_memory(data.x, data.y, options(align::Method::ridge, false, 0.1)));
}

TEST(Fit, StreamingFromFilesEqualsInMemory) {
  test::TempDir dir;
  auto data = regression_data(2345, 24, 20, 90);
  io::write_npy(dir / "x.npy", data.x);
  io::write_npy(dir / "y.npy", data.y);
  for (auto method : {align::Method::ols, align::Method::ridge, align::Method::procrustes}) {
    auto opts = options(method, true, 0.5);
    auto memory = align::fit_in_memory(data.x, data.y, opts);
    opts.chunk_rows = 100;  // many chunks, last one partial
    std::int64_t last_done = 0;
    auto streamed = align::fit_from_files({dir / "x.npy", dir / "y.npy", std::nullopt}, opts,
                                          [&](std::int64_t done, std::int64_t) { last_done = done; });
    EXPECT_EQ(last_done, 2345);
    EXPECT_LT(max_abs_diff(streamed.w, to_eigen(memory.w)), 1e-6) << align::method_name(method);
    EXPECT_NEAR(streamed.report.residual, memory.report.residual, 1e-6 * memory.report.residual);
  }
}

TEST(Fit, PairsFileEqualsExpandedRows) {
  test::TempDir dir;
  // 50 images, 3 captions each: caption row 3i+c belongs to image i.
  io::FloatMatrix images = test::random_normal(50, 16, 100);
  io::FloatMatrix captions = test::random_normal(150, 16, 101);
  std::vector<std::int64_t> pairs;
  io::FloatMatrix expanded(150, 16);
  for (int i = 0; i < 50; ++i)
    for (int c = 0; c < 3; ++c) {
      pairs.insert(pairs.end(), {i, 3 * i + c});
      std::copy(images.row(i), images.row(i) + 16, expanded.row(3 * i + c));
    }
  io::write_npy(dir / "x.npy", images);
  io::write_npy(dir / "y.npy", captions);
  io::write_npy(dir / "pairs.npy", pairs.data(), {150, 2});
  auto opts = options(align::Method::ols, true);
  opts.chunk_rows = 64;
  auto streamed = align::fit_from_files({dir / "x.npy", dir / "y.npy", dir / "pairs.npy"}, opts);
  auto memory = align::fit_in_memory(expanded, captions, opts);
  EXPECT_LT(max_abs_diff(streamed.w, to_eigen(memory.w)), 1e-6);
  EXPECT_EQ(streamed.report.pairs, 150);
}

TEST(Fit, BadFileInputsAreInputErrors) {
  test::TempDir dir;
  auto data = regression_data(20, 4, 4, 110);
  io::write_npy(dir / "x.npy", data.x);
  io::write_npy(dir / "y.npy", data.y);
  io::FloatMatrix short_y = test::random_normal(19, 4, 111);
  io::write_npy(dir / "y19.npy", short_y);
  auto opts = options(align::Method::procrustes, true);
  EXPECT_THROW(align::fit_from_files({dir / "x.npy", dir / "y19.npy", std::nullopt}, opts), InputError);

  const std::int64_t bad_pairs[] = {0, 0, 1, 25};
  io::write_npy(dir / "p.npy", bad_pairs, {2, 2});
  EXPECT_THROW(align::fit_from_files({dir / "x.npy", dir / "y.npy", dir / "p.npy"}, opts), InputError);

  data.y.row(7)[2] = std::nanf("");
  io::write_npy(dir / "ynan.npy", data.y);
  try {
    align::fit_from_files({dir / "x.npy", dir / "ynan.npy", std::nullopt}, opts);
    FAIL() << "NaN accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("row 7"), std::string::npos) << e.what();
  }
}

// Each thread reads and checks its share of a chunk a few hundred rows at a time: a bad
// row is named by its row in the file whichever thread found it, and of two, the first.
TEST(Fit, BadRowsAreNamedByTheirRowInTheFileWhicheverThreadReadsThem) {
  test::TempDir dir;
  auto data = regression_data(1000, 4, 4, 112);
  io::write_npy(dir / "x.npy", data.x);
  auto opts = options(align::Method::procrustes, true);
  opts.threads = 2;  // rows 0-499 on one thread, 500-999 on the other
  for (const auto& [bad_rows, named] : std::vector<std::pair<std::vector<int>, std::string>>{
           {{900}, "row 900"}, {{600, 900}, "row 600"}, {{300, 700}, "row 300"}}) {
    auto y = data.y;
    for (int row : bad_rows) y.row(row)[1] = std::nanf("");
    io::write_npy(dir / "y.npy", y);
    try {
      align::fit_from_files({dir / "x.npy", dir / "y.npy", std::nullopt}, opts);
      FAIL() << "NaN accepted";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(named + " contains NaN"), std::string::npos) << e.what();
    }
  }
  // A zero row is refused (it has no direction) wherever it is.
  auto y = data.y;
  std::fill(y.row(777), y.row(777) + 4, 0.0f);
  io::write_npy(dir / "y.npy", y);
  try {
    align::fit_from_files({dir / "x.npy", dir / "y.npy", std::nullopt}, opts);
    FAIL() << "zero row accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("row 777"), std::string::npos) << e.what();
  }
}

TEST(Fit, MixedPrecisionAgreesWithFloat64) {
  // 10,000 pairs: more than two 4096-row float32 blocks, so block sums meet in float64.
  auto data = regression_data(10000, 32, 24, 120, 0.2);
  for (auto method : {align::Method::ols, align::Method::procrustes}) {
    auto mixed = options(method, true);
    auto exact = mixed;
    exact.accumulation = align::Accumulation::float64;
    auto a = align::fit_in_memory(data.x, data.y, mixed);
    auto b = align::fit_in_memory(data.x, data.y, exact);
    EXPECT_LT(max_abs_diff(a.w, to_eigen(b.w)), 1e-5) << align::method_name(method);
    EXPECT_NEAR(a.report.residual, b.report.residual, 1e-5 * b.report.residual);
  }
}

// --method none is the unaligned baseline: W is exactly I, and its residual is the plain
// Σ‖x − y‖² of the normalised rows.
TEST(Fit, MethodNoneIsTheIdentityWithThePlainResidual) {
  auto x = test::random_normal(50, 6, 11), y = test::random_normal(50, 6, 12);
  align::FitOptions options;
  options.method = align::Method::none;
  const auto fit = align::fit_in_memory(x, y, options);
  EXPECT_TRUE(to_eigen(fit.w).isApprox(MatrixXd::Identity(6, 6), 0.0));
  test::normalize_rows(x);
  test::normalize_rows(y);
  const double plain = (to_eigen(x) - to_eigen(y)).squaredNorm();
  EXPECT_NEAR(fit.report.residual, plain, 1e-6 * plain);
  EXPECT_EQ(align::parse_method("none"), align::Method::none);
  EXPECT_EQ(align::method_name(align::Method::none), "none");
}

TEST(Fit, MethodNoneRefusesEmbeddingsOfDifferentSizes) {
  align::FitOptions options;
  options.method = align::Method::none;
  EXPECT_THROW(align::fit_in_memory(test::random_normal(20, 6, 1), test::random_normal(20, 5, 2), options), InputError);
}
