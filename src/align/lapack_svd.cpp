#include "lapack_svd.h"

#include <algorithm>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

// LAPACK's Fortran entry point (OpenBLAS exports it). gfortran passes the length of a
// character argument as a trailing hidden size_t.
extern "C" void dgesdd_(const char* jobz, const int* m, const int* n, double* a, const int* lda, double* s, double* u,
                        const int* ldu, double* vt, const int* ldvt, double* work, const int* lwork, int* iwork,
                        int* info, std::size_t jobz_length);

namespace recap::align {

ThinSvd lapack_svd(const Eigen::MatrixXd& a) {
  const int m = static_cast<int>(a.rows()), n = static_cast<int>(a.cols()), k = std::min(m, n);
  Eigen::MatrixXd work_a = a;  // dgesdd overwrites its input (column-major, as Eigen's default)
  ThinSvd out{Eigen::MatrixXd(m, k), Eigen::VectorXd(k), Eigen::MatrixXd(k, n)};
  const char jobz = 'S';
  const int lda = std::max(1, m), ldu = std::max(1, m), ldvt = std::max(1, k);
  std::vector<int> iwork(static_cast<std::size_t>(8 * std::max(1, k)));
  int info = 0, query = -1;
  double optimal = 0;
  dgesdd_(&jobz, &m, &n, work_a.data(), &lda, out.s.data(), out.u.data(), &ldu, out.vt.data(), &ldvt, &optimal,
          &query, iwork.data(), &info, 1);
  if (info != 0) throw std::runtime_error("LAPACK dgesdd workspace query failed (info " + std::to_string(info) + ")");
  const int lwork = static_cast<int>(optimal);
  std::vector<double> work(static_cast<std::size_t>(std::max(1, lwork)));
  dgesdd_(&jobz, &m, &n, work_a.data(), &lda, out.s.data(), out.u.data(), &ldu, out.vt.data(), &ldvt, work.data(),
          &lwork, iwork.data(), &info, 1);
  if (info > 0) throw std::runtime_error("the SVD did not converge (LAPACK dgesdd info " + std::to_string(info) + ")");
  if (info < 0) throw std::logic_error("LAPACK dgesdd: argument " + std::to_string(-info) + " is invalid");
  return out;
}

}  // namespace recap::align
