#pragma once
// Synthetic paired embeddings with a known answer, for the demo, tests and benchmarks.
//
// Each "concept" c has a latent vector z_c ~ N(0, I) and a caption text drawn from a small
// grammar (adjective, colour, noun, action, place). A caption embedding is
// normalize(z_c + σ_t e); an image embedding is normalize((z_c + σ_i e) R) for one random
// orthogonal R (a "modality gap" the fit must undo: Procrustes recovers Rᵀ). Query images
// are fresh draws of known concepts, so a correct pipeline retrieves a caption of the
// query's own concept.
#include <cstdint>
#include <string>
#include <vector>

#include "recap/io/matrix.h"

namespace recap::data {

struct SyntheticSpec {
  std::int64_t images = 1000;
  std::int64_t captions_per_image = 5;
  std::int64_t queries = 100;
  std::int64_t dim = 64;
  std::int64_t concepts = 500;
  double image_noise = 0.3;
  double text_noise = 0.3;
  std::uint32_t seed = 0;
};

// The caption text of concept c, variant v (different wordings of the same content).
std::string concept_caption(std::int64_t concept_id, std::int64_t variant);
std::int64_t concept_count_limit();  // how many distinct concepts the grammar can name

// Streams the data to `write_*` callbacks chunk by chunk so that COCO-sized sets never
// sit in memory. Rows of images/captions/queries arrive in order.
struct SyntheticSink {
  virtual ~SyntheticSink() = default;
  virtual void images(const io::FloatMatrix& rows, const std::vector<std::int64_t>& concepts) = 0;
  virtual void captions(const io::FloatMatrix& rows, const std::vector<std::int64_t>& concepts,
                        const std::vector<std::int64_t>& image_rows) = 0;
  virtual void queries(const io::FloatMatrix& rows, const std::vector<std::int64_t>& concepts) = 0;
};

void generate_synthetic(const SyntheticSpec& spec, SyntheticSink& sink);

}  // namespace recap::data
