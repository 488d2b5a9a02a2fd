#pragma once
// CLIP-S and RefCLIP-S as clipscore computes them (Hessel et al. 2021), and the paper's
// aCLIP-S / RefaCLIP-S, which are the same scores with the image embedding replaced by
// the mapped embedding normalize(x @ W):
//   CLIP-S(c, v)       = w · max(cos(v, c), 0),  w = 2.5
//   RefCLIP-S(c, R, v) = H(CLIP-S(c, v), max_{r in R} cos(c, r)),  H = harmonic mean
// Rows need not be normalised; cosines normalise them. The corpus score is the mean.
#include <cstdint>
#include <vector>

#include "recap/io/matrix.h"

namespace recap::metrics {

constexpr double kClipScoreWeight = 2.5;

struct ClipScores {
  double clip_s = 0;
  std::vector<double> clip_s_per_image;
  bool has_ref = false;
  double ref_clip_s = 0;
  std::vector<double> ref_clip_s_per_image;
};

// `images` and `candidates` row i belong together; `references[i]` lists the rows of
// `reference_embeddings` that are image i's references (empty vector: no RefCLIP-S).
ClipScores clip_scores(const io::FloatMatrix& images, const io::FloatMatrix& candidates,
                       const io::FloatMatrix& reference_embeddings,
                       const std::vector<std::vector<std::int64_t>>& references, double weight = kClipScoreWeight);

}  // namespace recap::metrics
