#pragma once
// Row-wise checks and normalisation shared by every layer that handles embeddings.
#include <cstdint>
#include <string>

#include "recap/io/matrix.h"

namespace recap {

// L2-normalises each row in place. Zero rows are left as zero.
void normalize_rows(float* data, std::int64_t rows, std::int64_t cols);
inline void normalize_rows(io::FloatMatrix& m) { normalize_rows(m.data(), m.rows, m.cols); }

// Copies `rows` rows from src to dst in one pass, checking that each is finite (as
// check_finite) and, when `normalize` is set, not all zeros, and L2-normalising it then.
// src may be dst (in place). On the calling thread: callers split large inputs themselves
// (the fit, on its products' team: team_parallel.h).
void copy_checked_rows(const float* src, float* dst, std::int64_t rows, std::int64_t cols, bool normalize,
                       const std::string& source, std::int64_t first_row = 0);

// Throws InputError("<source>: row i contains NaN/Inf") for the first non-finite row.
// `first_row` offsets the row number reported (for chunked checks).
void check_finite(const float* data, std::int64_t rows, std::int64_t cols, const std::string& source,
                  std::int64_t first_row = 0);
inline void check_finite(const io::FloatMatrix& m, const std::string& source) {
  check_finite(m.data(), m.rows, m.cols, source);
}

// As check_finite, and also refuses a row of zeros ("row i is all zeros"): no encoder
// produces one, and it has no direction to normalise or compare (a zero query would tie
// with every caption and "retrieve" row 0).
void check_embedding_rows(const float* data, std::int64_t rows, std::int64_t cols, const std::string& source,
                          std::int64_t first_row = 0);
inline void check_embedding_rows(const io::FloatMatrix& m, const std::string& source) {
  check_embedding_rows(m.data(), m.rows, m.cols, source);
}

}  // namespace recap
