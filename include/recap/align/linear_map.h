#pragma once
// ReCap's linear map W (d_img x d_txt), applied to row vectors: aligned = x @ W.
#include <string>

#include "recap/io/matrix.h"

namespace recap::align {

// none: W = I, the unaligned baseline (raw CLIP similarity) that the others are measured against.
enum class Method { procrustes, ols, ridge, none };

Method parse_method(const std::string& name);  // "procrustes" | "ols" | "ridge" | "none"; UsageError otherwise
std::string method_name(Method method);

// Returns x @ w (rows of x mapped), L2-normalising each output row when `normalize`.
// Throws InputError when the inner dimensions disagree.
io::FloatMatrix apply_map(const io::FloatMatrix& x, const io::FloatMatrix& w, bool normalize = true);

// Loads mapping.npy (float32 d_img x d_txt) from a run directory or a direct .npy path.
io::FloatMatrix load_mapping(const std::string& run_dir_or_npy);

}  // namespace recap::align
