#pragma once
// The demo "world": small pictures of coloured shapes with captions, drawn procedurally
// and deterministic from a seed, so that the whole method (CLIP pretraining on noisy web
// captions, then ReCap on a captioning dataset) can be shown and tested without
// downloading anything.
//
// A scene is one of four kinds: one object at a position; a row of two or three
// identical objects; two groups of one or two identical objects in a spatial relation;
// three different objects in a row. Geometry is kept in integer thousandths of the
// picture side, and all randomness comes from WorldRandom (below), never from the
// standard distributions (whose output is implementation-defined), so a seed gives the
// same scene, pixels and captions on every machine and at every picture size.
#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace recap::demo {

// xoshiro256** seeded through splitmix64: the world's only source of randomness.
class WorldRandom {
 public:
  explicit WorldRandom(std::uint64_t seed);
  std::uint64_t next();
  int below(int n);                 // uniform in [0, n), n >= 1 (rejection, no modulo bias)
  int between(int lo, int hi);      // uniform in [lo, hi]
  bool chance(int per_mille);       // true with probability per_mille / 1000
  template <typename T>
  const T& pick(const std::vector<T>& items) { return items[static_cast<std::size_t>(below(static_cast<int>(items.size())))]; }

 private:
  std::array<std::uint64_t, 4> state_;
};

// A seed derived from two others (splitmix64 of a mix): independent streams from one seed.
std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t stream);

// Geometry unit: thousandths of the picture side (0 = left/top edge, 1000 = right/bottom).
struct WorldPoint {
  int x = 0, y = 0;
  bool operator==(const WorldPoint& o) const { return x == o.x && y == o.y; }
};

// A group of `count` identical objects.
struct WorldObject {
  std::string shape;    // "circle", "square", "triangle", "star"
  std::string colour;   // "red", "green", "blue", "yellow", "purple", "white"
  bool big = false;
  int count = 1;        // 1..3
  int radius = 0;       // half the side of each object's bounding square (thousandths)
  std::vector<WorldPoint> centres;  // one per object (count of them)
};

enum class SceneKind {
  single,    // one object; `position` says where
  group,     // a row of 2-3 identical objects; `position` is "", "top" or "bottom"
  relation,  // groups[0] `relation` groups[1], each of 1-2 objects
  row,       // three different single objects in a row, groups ordered left to right
};

struct Scene {
  SceneKind kind = SceneKind::single;
  std::vector<WorldObject> groups;  // 1..3
  std::string relation;             // relation kind: "left of", "right of", "above", "below", "next to"
  std::string position;             // single: "left", "right", "top", "bottom", "centre"; group: "", "top", "bottom"
  std::string background;           // "black", "dark grey", "light grey", "beige", "navy", "dark green", "brown"
  int gradient_x = 0, gradient_y = 0;  // brightness change across the picture (levels, |.| <= 16)
  int noise = 0;                    // per-channel pixel noise amplitude (levels, 3..8)
  std::uint64_t noise_seed = 0;
};

const char* kind_name(SceneKind kind);  // "single", "group", "relation", "row"

// The RGB value of an object colour or background name; UsageError for an unknown name.
std::array<int, 3> colour_rgb(const std::string& name);

// The scene for this seed: objects inside the picture, never overlapping (bounding squares
// at least 50 thousandths apart); the background never too close to an object colour.
Scene sample_scene(std::uint64_t seed);

// size*size*3 bytes, RGB, row-major; anti-aliasing off, so identical everywhere. size >= 16.
std::vector<std::uint8_t> draw_scene(const Scene& scene, int size);

// n distinct captions (repeats only when the templates and their prefixed variants cannot
// make n) naming every group's count, colour and shape; sizes and positions are in most of
// them. Caption seeds are mixed with the scene's noise_seed, so one seed serves many scenes.
std::vector<std::string> dataset_captions(const Scene& scene, int n = 5, std::uint64_t seed = 0);

// One noisy "alt text" caption in the style of web data (keywords, digits, dropped and
// reordered attributes, prefixes like "clipart"); differs with the seed.
std::string web_caption(const Scene& scene, std::uint64_t seed);

// For learning tokenizer vocabularies: for each of `scenes` sampled scenes, its 5 dataset
// captions then 2 web captions.
std::vector<std::string> caption_corpus(std::uint64_t seed, int scenes);

struct WorldOptions {
  std::uint64_t seed = 0;
  int image_size = 64;  // 16..1024
  int train = 2000, val = 250, test = 250;
  int captions_per_image = 5;
};

struct WorldSummary {
  int images = 0, captions = 0;
  std::filesystem::path dataset_json, image_folder;
};

// The seed of image `index` of `split` ("train", "val", "test") of the world `world_seed`:
// each split has its own stream, so splits never share seeds (scenes may still repeat by
// chance: the world is finite).
std::uint64_t scene_seed(std::uint64_t world_seed, const std::string& split, std::uint64_t index);

// Writes `folder`/images/<split>_<00000>.png, `folder`/dataset_demo.json (Karpathy format,
// media root = `folder`; each image also carries its "scene") and `folder`/world.json (the
// options). Atomic: built beside `folder` and renamed into place. An existing `folder` is
// a UsageError without `force`; with `force` it is replaced only when it holds world.json
// (else InputError) and nothing recap did not write there (else UsageError).
WorldSummary write_world(const std::filesystem::path& folder, const WorldOptions& options, bool force);

// Pictures for training CLIP: the index-th scene of an endless stream, independent of
// the dataset splits of any world with the same seed.
Scene training_scene(std::uint64_t seed, std::uint64_t index);

}  // namespace recap::demo
