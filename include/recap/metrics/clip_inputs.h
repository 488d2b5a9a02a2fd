#pragma once
// The embeddings recap-score's CLIP metrics compare, from either source: precomputed
// .npy files (--image-embeddings, --candidate-embeddings, --reference-embeddings), or a
// CLIP model and the image files (--clip, --images), embedded through recap-embed.
#include <cstdint>
#include <string>
#include <vector>

#include "recap/embed/embed_subprocess.h"
#include "recap/data/captions.h"
#include "recap/io/matrix.h"

namespace recap::metrics {

struct ClipEmbeddings {
  io::FloatMatrix images;      // row i: the image of result i
  io::FloatMatrix candidates;  // row i: the caption of result i
  io::FloatMatrix references;  // reference captions (no rows when not asked for)
  std::vector<std::vector<std::int64_t>> reference_rows;  // [i]: rows of `references` for result i
};

struct ClipEmbeddingFiles {
  std::string image_embeddings, image_ids, candidate_embeddings, reference_embeddings, refs_path;
};

// Reads the files, in the orders the --help of each option gives; InputError on a row
// count that does not match.
ClipEmbeddings read_clip_embeddings(const ClipEmbeddingFiles& files, const std::vector<data::CaptionResult>& results,
                                    const data::ReferenceSet& refs, bool with_refs);

struct ClipModelSource {
  embed::EmbedSettings embed;  // recap-embed options; strict is forced on (every result needs its image)
  std::string images;   // folder, list file or {"id": "path"} JSON (data::MediaIndex)
  std::string prefix;   // prepended to every caption, as clipscore's "A photo depicts "
};

// Finds every result's image (InputError naming the ids without one), then embeds the
// images, the candidates and, with `with_refs`, the references of the scored images.
ClipEmbeddings embed_for_clip_scores(const ClipModelSource& source, const std::vector<data::CaptionResult>& results,
                                     const data::ReferenceSet& refs, bool with_refs);

}  // namespace recap::metrics
