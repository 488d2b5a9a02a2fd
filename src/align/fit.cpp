#include "recap/align/fit.h"

#include <algorithm>
#include <Eigen/Dense>

#include "lapack_svd.h"
#include "recap/common/error.h"
#include "recap/common/rows.h"
#include "recap/common/stopwatch.h"
#include "recap/common/team_parallel.h"
#include "recap/io/npy.h"

namespace recap::align {
namespace {

// Below this reciprocal condition number XᵀX is treated as singular: its smallest
// eigenvalues are then rounding noise and W would be dominated by it.
constexpr double kSingularRcond = 1e-12;

io::FloatMatrix to_float_matrix(const Eigen::MatrixXd& m) {
  io::FloatMatrix out(m.rows(), m.cols());
  for (Eigen::Index i = 0; i < m.rows(); ++i)
    for (Eigen::Index j = 0; j < m.cols(); ++j) out.row(i)[j] = static_cast<float>(m(i, j));
  return out;
}

// Rows [first, first+count) of `reader` into dst: checked, normalised when asked. Each
// thread of the products' team (team_parallel.h) reads its share of the chunk (pread)
// kRowsPerRead rows at a time and normalises them while they are in its cache. Reading
// into dst beats copying from the mapping, whose page faults the kernel serves one mapped
// page range at a time (0.60 -> 0.35 s for the 2 x 300,000 x 768 float32 inputs of the
// benchmark on the Zen 5). A single row (pairs in any order) is read straight from the mapping.
void load_rows(const io::NpyMatrixReader& reader, std::int64_t first, std::int64_t count, float* dst, bool normalize,
               const std::string& name, int threads) {
  const std::int64_t cols = reader.cols();
  if (const float* src = count == 1 ? reader.direct_rows(first) : nullptr) {
    copy_checked_rows(src, dst, count, cols, normalize, name, first);
    return;
  }
  constexpr std::int64_t kRowsPerRead = 256;  // 768 KB at d = 768: within a core's L2
  team_ranges(count, threads, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t at = begin; at < end; at += kRowsPerRead) {
      const std::int64_t rows = std::min(kRowsPerRead, end - at);
      float* block = dst + at * cols;
      reader.read_rows(first + at, rows, block);
      copy_checked_rows(block, block, rows, cols, normalize, name, first + at);
    }
  });
}

bool is_sorted_column(const std::vector<std::int64_t>& pairs, int column) {
  for (std::size_t i = 2 + column; i < pairs.size(); i += 2)
    if (pairs[i] < pairs[i - 2]) return false;
  return true;
}

}  // namespace

FitResult solve(const GramAccumulator& gram, const FitOptions& options) {
  Stopwatch clock;
  FitResult result;
  FitReport& report = result.report;
  report.pairs = gram.count();
  report.x_dim = gram.x_dim();
  report.y_dim = gram.y_dim();
  if (gram.count() == 0) throw InputError("no training pairs to fit");

  const Eigen::MatrixXd xty = gram.xty();
  Eigen::MatrixXd w;
  switch (options.method) {
    case Method::procrustes: {
      // W = U Vᵀ maximises tr(Wᵀ XᵀY) over (semi-)orthogonal W.
      const ThinSvd svd = lapack_svd(xty);
      w = svd.u * svd.vt;
      report.solver = "SVD of XᵀY (LAPACK dgesdd), W = U Vᵀ";
      break;
    }
    case Method::ols: {
      if (gram.count() < gram.x_dim())
        throw InputError("least squares is underdetermined: " + std::to_string(gram.count()) + " pairs for " +
                         std::to_string(gram.x_dim()) + " input dimensions; use --method ridge --lambda L");
      const Eigen::MatrixXd xtx = gram.xtx();
      Eigen::LDLT<Eigen::MatrixXd> ldlt(xtx);
      report.rcond = ldlt.rcond();
      if (ldlt.info() != Eigen::Success || !(report.rcond > kSingularRcond) || !ldlt.isPositive())
        throw InputError("least squares is singular: XᵀX has reciprocal condition " + std::to_string(report.rcond) +
                         " (collinear or duplicate embeddings); use --method ridge --lambda L");
      w = ldlt.solve(xty);
      report.solver = "LDLT of XᵀX (Eigen)";
      break;
    }
    case Method::ridge: {
      if (!(options.lambda > 0)) throw UsageError("ridge needs --lambda > 0");
      Eigen::MatrixXd a = gram.xtx();
      a.diagonal().array() += options.lambda;
      Eigen::LLT<Eigen::MatrixXd> llt(a);
      if (llt.info() != Eigen::Success) throw InputError("ridge system is not positive definite (NaN in the data?)");
      report.rcond = llt.rcond();
      w = llt.solve(xty);
      report.solver = "Cholesky (LLT) of XᵀX + λI (Eigen)";
      break;
    }
    case Method::none: {
      if (gram.x_dim() != gram.y_dim())
        throw InputError("--method none (W = I) needs image and text embeddings of one size, not " +
                         std::to_string(gram.x_dim()) + " and " + std::to_string(gram.y_dim()));
      w = Eigen::MatrixXd::Identity(gram.x_dim(), gram.y_dim());
      report.solver = "none: W = I (raw CLIP similarity, the unaligned baseline)";
      break;
    }
  }

  // Σ‖xW − y‖² = tr(Wᵀ XᵀX W) − 2 tr(Wᵀ XᵀY) + Σ‖y‖²; without XᵀX (Procrustes with
  // orthonormal rows of W) ‖xW‖ = ‖x‖.
  const double cross = (w.array() * xty.array()).sum();
  double fitted_norm = gram.sum_x_squared();
  if (gram.has_xtx()) fitted_norm = (w.array() * (gram.xtx() * w).array()).sum();
  report.residual = std::max(0.0, fitted_norm - 2 * cross + gram.sum_y_squared());
  report.mean_residual = report.residual / static_cast<double>(gram.count());
  report.relative_residual = gram.sum_y_squared() > 0 ? report.residual / gram.sum_y_squared() : 0;
  result.w = to_float_matrix(w);
  report.seconds_solve = clock.seconds();
  return result;
}

FitResult fit_in_memory(const io::FloatMatrix& x, const io::FloatMatrix& y, const FitOptions& options) {
  if (x.rows != y.rows)
    throw InputError("image embeddings have " + std::to_string(x.rows) + " rows but text embeddings have " +
                     std::to_string(y.rows));
  check_finite(x, "image embeddings");
  check_finite(y, "text embeddings");
  Stopwatch clock;
  GramAccumulator gram(x.cols, y.cols, needs_xtx(options.method, x.cols, y.cols), options.accumulation);
  const std::int64_t chunk = std::clamp<std::int64_t>(options.chunk_rows, 1, std::max<std::int64_t>(1, x.rows));
  std::vector<float> bx, by;
  for (std::int64_t start = 0; start < x.rows; start += chunk) {
    const std::int64_t m = std::min(chunk, x.rows - start);
    bx.assign(x.row(start), x.row(start) + m * x.cols);
    by.assign(y.row(start), y.row(start) + m * y.cols);
    if (options.normalize) {
      normalize_rows(bx.data(), m, x.cols);
      normalize_rows(by.data(), m, y.cols);
    }
    gram.add(bx.data(), by.data(), m);
  }
  const double accumulate = clock.seconds();
  FitResult result = solve(gram, options);
  result.report.seconds_accumulate = accumulate;
  return result;
}

bool needs_xtx(Method method, std::int64_t x_dim, std::int64_t y_dim) {
  return (method != Method::procrustes && method != Method::none) || x_dim > y_dim;
}

FitResult fit_from_files(const FitInputs& inputs, const FitOptions& options, const ProgressFn& progress) {
  Stopwatch clock;
  // Dimensions decide whether XᵀX is needed; reading the headers costs nothing.
  const bool need_xtx = needs_xtx(options.method, io::NpyMatrixReader(inputs.image_embeddings).cols(),
                                  io::NpyMatrixReader(inputs.text_embeddings).cols());
  const GramAccumulator gram = accumulate_from_files(inputs, options, need_xtx, progress);
  const double accumulate = clock.seconds();
  FitResult result = solve(gram, options);
  result.report.seconds_accumulate = accumulate;
  return result;
}

GramAccumulator accumulate_from_files(const FitInputs& inputs, const FitOptions& options, bool need_xtx,
                                      const ProgressFn& progress) {
  const io::NpyMatrixReader x(inputs.image_embeddings);
  const io::NpyMatrixReader y(inputs.text_embeddings);
  const std::string x_name = inputs.image_embeddings.string();
  const std::string y_name = inputs.text_embeddings.string();

  std::vector<std::int64_t> pairs;
  std::int64_t n = 0;
  if (inputs.pairs) {
    std::vector<std::int64_t> shape;
    pairs = io::read_npy_int64(*inputs.pairs, &shape);
    if (shape.size() != 2 || shape[1] != 2)
      throw InputError(inputs.pairs->string() + ": pairs must be an n x 2 integer array (image row, caption row)");
    n = shape[0];
    for (std::int64_t i = 0; i < n; ++i) {
      if (pairs[2 * i] < 0 || pairs[2 * i] >= x.rows())
        throw InputError(inputs.pairs->string() + ": pair " + std::to_string(i) + " names image row " +
                         std::to_string(pairs[2 * i]) + " but " + x_name + " has " + std::to_string(x.rows()) + " rows");
      if (pairs[2 * i + 1] < 0 || pairs[2 * i + 1] >= y.rows())
        throw InputError(inputs.pairs->string() + ": pair " + std::to_string(i) + " names caption row " +
                         std::to_string(pairs[2 * i + 1]) + " but " + y_name + " has " + std::to_string(y.rows()) +
                         " rows");
    }
  } else {
    if (x.rows() != y.rows())
      throw InputError(x_name + " has " + std::to_string(x.rows()) + " rows but " + y_name + " has " +
                       std::to_string(y.rows()) + "; pass --pairs to pair images with several captions");
    n = x.rows();
  }
  if (n == 0) throw InputError(x_name + ": no training pairs (0 rows)");

  GramAccumulator gram(x.cols(), y.cols(), need_xtx, options.accumulation);
  // A chunk larger than the data buys nothing: never allocate past the pairs there are.
  const std::int64_t chunk = std::clamp<std::int64_t>(options.chunk_rows, 1, n);
  std::vector<float> bx(static_cast<std::size_t>(chunk * x.cols())), by(static_cast<std::size_t>(chunk * y.cols()));
  // Pages behind a monotone reader can be dropped once used; random access keeps them.
  const bool x_sequential = pairs.empty() || is_sorted_column(pairs, 0);
  const bool y_sequential = pairs.empty() || is_sorted_column(pairs, 1);
  std::int64_t x_released = 0, y_released = 0;
  const int threads = options.threads;

  for (std::int64_t start = 0; start < n; start += chunk) {
    const std::int64_t m = std::min(chunk, n - start);
    std::int64_t x_lowest_next = x.rows(), y_lowest_next = y.rows();
    if (pairs.empty()) {
      x.prefetch_rows(start + m, chunk);  // the disk reads the next chunk while BLAS works on this one
      y.prefetch_rows(start + m, chunk);
      load_rows(x, start, m, bx.data(), options.normalize, x_name, threads);
      load_rows(y, start, m, by.data(), options.normalize, y_name, threads);
      x_lowest_next = y_lowest_next = start + m;
    } else {
      for (std::int64_t i = 0; i < m; ++i) {
        const std::int64_t xi = pairs[2 * (start + i)], yi = pairs[2 * (start + i) + 1];
        load_rows(x, xi, 1, bx.data() + i * x.cols(), options.normalize, x_name, 1);
        load_rows(y, yi, 1, by.data() + i * y.cols(), options.normalize, y_name, 1);
      }
      if (start + m < n) {
        x_lowest_next = pairs[2 * (start + m)];
        y_lowest_next = pairs[2 * (start + m) + 1];
      }
    }
    if (x_sequential && x_lowest_next > x_released) {
      x.release_rows(x_released, x_lowest_next - x_released);
      x_released = x_lowest_next;
    }
    if (y_sequential && y_lowest_next > y_released) {
      y.release_rows(y_released, y_lowest_next - y_released);
      y_released = y_lowest_next;
    }
    gram.add(bx.data(), by.data(), m);
    if (progress) progress(start + m, n);
  }
  return gram;
}

}  // namespace recap::align
