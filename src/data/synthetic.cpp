#include "recap/data/synthetic.h"

#include <Eigen/Dense>
#include <random>

#include "recap/common/error.h"
#include "recap/common/rows.h"

namespace recap::data {
namespace {

const std::vector<std::string> kAdjectives = {"small", "large", "young", "old", "happy", "sleepy", "wet", "fluffy"};
const std::vector<std::string> kColours = {"brown", "black", "white", "red", "grey", "golden"};
const std::vector<std::string> kNouns = {"dog", "cat", "horse", "bird", "child", "man", "woman", "cow", "bear", "goat"};
const std::vector<std::string> kActions = {"running", "sitting", "sleeping", "standing", "playing", "eating"};
const std::vector<std::string> kPlaces = {"on the beach", "in a field", "on a street", "in the snow", "near a lake",
                                          "in a kitchen", "on a couch"};

constexpr std::int64_t kChunk = 8192;

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

}  // namespace

std::int64_t concept_count_limit() {
  return static_cast<std::int64_t>(kAdjectives.size() * kColours.size() * kNouns.size() * kActions.size() *
                                   kPlaces.size());
}

std::string concept_caption(std::int64_t concept_id, std::int64_t variant) {
  // A bijective scramble (7919 is prime and does not divide the grammar size) spreads
  // the first few thousand concepts over every word list, not just the first place.
  std::int64_t c = (concept_id * 7919) % concept_count_limit();
  auto pick = [&c](const std::vector<std::string>& words) {
    const auto& w = words[static_cast<std::size_t>(c % static_cast<std::int64_t>(words.size()))];
    c /= static_cast<std::int64_t>(words.size());
    return w;
  };
  const std::string adjective = pick(kAdjectives), colour = pick(kColours), noun = pick(kNouns),
                    action = pick(kActions), place = pick(kPlaces);
  switch (variant % 5) {
    case 0: return "a " + adjective + " " + colour + " " + noun + " " + action + " " + place;
    case 1: return "there is a " + adjective + " " + colour + " " + noun + " " + action + " " + place;
    case 2: return "a " + colour + " " + noun + " that is " + adjective + ", " + action + " " + place;
    case 3: return adjective + " " + colour + " " + noun + " " + action + " " + place;
    default: return "a photo of a " + adjective + " " + colour + " " + noun + " " + action + " " + place;
  }
}

void generate_synthetic(const SyntheticSpec& spec, SyntheticSink& sink) {
  if (spec.concepts < 1 || spec.concepts > concept_count_limit())
    throw UsageError("--concepts must be between 1 and " + std::to_string(concept_count_limit()));
  if (spec.dim < 1 || spec.images < 1 || spec.captions_per_image < 0 || spec.queries < 0)
    throw UsageError("sizes must be positive");
  const std::int64_t d = spec.dim;
  std::mt19937_64 rng(spec.seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  auto fill_normal = [&](float* p, std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i) p[i] = normal(rng);
  };

  RowMatrix latent(spec.concepts, d);
  fill_normal(latent.data(), latent.size());
  RowMatrix gaussian(d, d);
  fill_normal(gaussian.data(), gaussian.size());
  const RowMatrix rotation = Eigen::HouseholderQR<RowMatrix>(gaussian).householderQ();
  std::uniform_int_distribution<std::int64_t> any_concept(0, spec.concepts - 1);

  // Images (and, per image, its captions) in chunks.
  for (std::int64_t start = 0; start < spec.images; start += kChunk) {
    const std::int64_t m = std::min(kChunk, spec.images - start);
    std::vector<std::int64_t> concepts(static_cast<std::size_t>(m));
    for (auto& c : concepts) c = any_concept(rng);
    RowMatrix noisy(m, d);
    fill_normal(noisy.data(), noisy.size());
    for (std::int64_t i = 0; i < m; ++i)
      noisy.row(i) = latent.row(concepts[i]) + static_cast<float>(spec.image_noise) * noisy.row(i);
    io::FloatMatrix images(m, d);
    Eigen::Map<RowMatrix>(images.data(), m, d) = noisy * rotation;
    normalize_rows(images);
    sink.images(images, concepts);

    const std::int64_t mc = m * spec.captions_per_image;
    if (mc == 0) continue;
    io::FloatMatrix captions(mc, d);
    fill_normal(captions.data(), mc * d);
    std::vector<std::int64_t> caption_concepts, image_rows;
    for (std::int64_t i = 0; i < m; ++i)
      for (std::int64_t v = 0; v < spec.captions_per_image; ++v) {
        const std::int64_t r = i * spec.captions_per_image + v;
        Eigen::Map<RowMatrix>(captions.row(r), 1, d) =
            latent.row(concepts[i]) + static_cast<float>(spec.text_noise) * Eigen::Map<RowMatrix>(captions.row(r), 1, d);
        caption_concepts.push_back(concepts[i]);
        image_rows.push_back(start + i);
      }
    normalize_rows(captions);
    sink.captions(captions, caption_concepts, image_rows);
  }

  if (spec.queries > 0) {
    std::vector<std::int64_t> concepts(static_cast<std::size_t>(spec.queries));
    for (auto& c : concepts) c = any_concept(rng);
    RowMatrix noisy(spec.queries, d);
    fill_normal(noisy.data(), noisy.size());
    for (std::int64_t i = 0; i < spec.queries; ++i)
      noisy.row(i) = latent.row(concepts[i]) + static_cast<float>(spec.image_noise) * noisy.row(i);
    io::FloatMatrix queries(spec.queries, d);
    Eigen::Map<RowMatrix>(queries.data(), spec.queries, d) = noisy * rotation;
    normalize_rows(queries);
    sink.queries(queries, concepts);
  }
}

}  // namespace recap::data
