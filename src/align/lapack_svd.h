#pragma once
// The thin SVD through LAPACK's dgesdd (divide and conquer) from the OpenBLAS recap already
// links, private to the align layer. On the 768 x 768 XᵀY of a Procrustes fit it takes
// about half of Eigen's BDCSVD time on two cores (blocked, threaded BLAS 3 inside), and it
// is the routine numpy.linalg.svd and scipy.linalg.svd call, so W is computed as theirs is.
#include <Eigen/Dense>

namespace recap::align {

struct ThinSvd {
  Eigen::MatrixXd u;   // m x k, k = min(m, n)
  Eigen::VectorXd s;   // k, descending
  Eigen::MatrixXd vt;  // k x n
};

// Throws std::runtime_error when LAPACK reports that the iteration did not converge
// (possible only for non-finite input, which the readers refuse).
ThinSvd lapack_svd(const Eigen::MatrixXd& a);

}  // namespace recap::align
