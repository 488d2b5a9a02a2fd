#pragma once
// Closed-form fitting of W (x @ W ≈ y): ordinary least squares, ridge and orthogonal
// Procrustes, from in-memory matrices or streamed from memory-mapped .npy files.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "recap/align/gram_accumulator.h"
#include "recap/align/linear_map.h"
#include "recap/io/matrix.h"

namespace recap::align {

struct FitOptions {
  Method method = Method::procrustes;
  double lambda = 0.0;        // ridge penalty: minimises ‖XW − Y‖² + λ‖W‖²_F (no 1/n scaling, as sklearn's Ridge)
  bool normalize = true;      // L2-normalise every x and y row before fitting
  // Pairs read per chunk. Both chunks (x and y rows: 25 MB at d = 768) stay in a 32 MB L3
  // while they are read, normalised and multiplied: 16,384 (100 MB) made each pass go to
  // memory, 1.10x the whole fit's time on a Zen 5 and twice the memory.
  std::int64_t chunk_rows = 4096;
  Accumulation accumulation = Accumulation::mixed;
  int threads = 0;  // for checking/normalising rows (BLAS has its own setting); 0: all cores
};

struct FitReport {
  std::int64_t pairs = 0;
  std::int64_t x_dim = 0, y_dim = 0;
  double residual = 0;            // Σ‖x W − y‖² over all pairs
  double mean_residual = 0;       // residual / pairs
  double relative_residual = 0;   // residual / Σ‖y‖²
  double rcond = 0;               // reciprocal condition estimate of the solved system (OLS/ridge), or 0
  double seconds_accumulate = 0;  // reading + XᵀX/XᵀY
  double seconds_solve = 0;
  std::string solver;             // which factorisation produced W
};

struct FitResult {
  io::FloatMatrix w;  // x_dim x y_dim
  FitReport report;
};

// Solves for W from accumulated statistics. Throws InputError for a singular OLS system.
FitResult solve(const GramAccumulator& gram, const FitOptions& options);

// Fits from paired rows held in memory (row i of x with row i of y).
FitResult fit_in_memory(const io::FloatMatrix& x, const io::FloatMatrix& y, const FitOptions& options);

struct FitInputs {
  std::filesystem::path image_embeddings;            // n_img x d_img .npy
  std::filesystem::path text_embeddings;             // n_txt x d_txt .npy
  std::optional<std::filesystem::path> pairs;        // int n x 2 (image row, caption row); else row i with row i
};

// Called after each chunk with (pairs done, pairs total).
using ProgressFn = std::function<void(std::int64_t, std::int64_t)>;

// Streams the inputs chunk by chunk from memory-mapped files and returns their
// statistics; `need_xtx` keeps XᵀX too (every method but Procrustes needs it, and
// statistics written for a later solve must serve any method).
GramAccumulator accumulate_from_files(const FitInputs& inputs, const FitOptions& options, bool need_xtx,
                                      const ProgressFn& progress = {});

// Whether `method` needs XᵀX for inputs of these dimensions.
bool needs_xtx(Method method, std::int64_t x_dim, std::int64_t y_dim);

// Streams the inputs chunk by chunk from memory-mapped files (pages are released once a
// chunk is consumed), validating shapes, NaN/Inf rows and pair indices as it goes.
FitResult fit_from_files(const FitInputs& inputs, const FitOptions& options, const ProgressFn& progress = {});

}  // namespace recap::align
