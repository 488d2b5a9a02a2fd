#include "recap/align/linear_map.h"

#include <cblas.h>

#include <filesystem>

#include "recap/common/error.h"
#include "recap/common/rows.h"
#include "recap/io/npy.h"

namespace recap::align {

Method parse_method(const std::string& name) {
  if (name == "procrustes") return Method::procrustes;
  if (name == "ols" || name == "lstsq" || name == "least-squares") return Method::ols;
  if (name == "ridge") return Method::ridge;
  if (name == "none" || name == "identity") return Method::none;
  throw UsageError("unknown mapping method '" + name + "' (choose procrustes, ols, ridge or none)");
}

std::string method_name(Method method) {
  switch (method) {
    case Method::procrustes: return "procrustes";
    case Method::ols: return "ols";
    case Method::ridge: return "ridge";
    case Method::none: return "none";
  }
  return "unknown";
}

io::FloatMatrix apply_map(const io::FloatMatrix& x, const io::FloatMatrix& w, bool normalize) {
  if (x.cols != w.rows)
    throw InputError("embedding dimension " + std::to_string(x.cols) + " does not match the mapping's input dimension " +
                     std::to_string(w.rows));
  io::FloatMatrix out(x.rows, w.cols);
  if (x.rows > 0)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(x.rows), static_cast<int>(w.cols),
                static_cast<int>(x.cols), 1.0f, x.data(), static_cast<int>(x.cols), w.data(), static_cast<int>(w.cols),
                0.0f, out.data(), static_cast<int>(out.cols));
  if (normalize) normalize_rows(out);
  return out;
}

io::FloatMatrix load_mapping(const std::string& run_dir_or_npy) {
  std::filesystem::path path(run_dir_or_npy);
  if (std::filesystem::is_directory(path)) path /= "mapping.npy";
  if (!std::filesystem::exists(path))
    throw InputError(path.string() + ": no mapping found (expected a run directory from recap-fit or a mapping.npy)");
  io::FloatMatrix w = io::read_npy_matrix(path);
  check_finite(w, path.string());
  return w;
}

}  // namespace recap::align
