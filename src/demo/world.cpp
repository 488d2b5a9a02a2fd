// The demo world: scene sampling, drawing (OpenCV, no anti-aliasing) and writing a
// Karpathy-format dataset. Captions are in world_captions.cpp.
#include "recap/demo/world.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "recap/common/error.h"
#include "recap/common/seed_mix.h"
#include "recap/io/atomic_file.h"
#include "recap/io/json_file.h"

namespace fs = std::filesystem;

namespace recap::demo {
namespace {

std::uint64_t splitmix64(std::uint64_t& x) { return splitmix64_finalize(x += kSplitmixIncrement); }

std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

// Streams derived from a scene's seed; fixed forever, or old worlds change.
constexpr std::uint64_t kSceneStream = 0x5ce4e, kTrainingStream = 0xc11b, kSplitStream = 0x5b117;

// Geometry in thousandths of the picture side. Small objects are 8-10 px, big ones 14-16 px
// (half the side of their bounding square) at 64 px: bigger ones would not fit two pairs.
constexpr int kMargin = 30, kGap = 50, kSmallMin = 125, kSmallMax = 156, kBigMin = 219, kBigMax = 250;

const std::vector<std::string> kShapes = {"circle", "square", "triangle", "star"};
const std::vector<std::string> kColours = {"red", "green", "blue", "yellow", "purple", "white"};

const std::map<std::string, std::array<int, 3>>& palette() {
  static const std::map<std::string, std::array<int, 3>> colours = {
      {"red", {220, 40, 40}},      {"green", {40, 180, 60}},       {"blue", {40, 90, 230}},
      {"yellow", {240, 220, 40}},  {"purple", {150, 60, 200}},     {"white", {245, 245, 245}},
      {"black", {20, 20, 20}},     {"dark grey", {75, 75, 75}},    {"light grey", {180, 180, 180}},
      {"beige", {220, 205, 170}},  {"navy", {25, 35, 80}},         {"dark green", {30, 65, 45}},
      {"brown", {110, 75, 50}}};
  return colours;
}
const std::vector<std::string> kBackgrounds = {"black", "dark grey", "light grey", "beige", "navy", "dark green", "brown"};

// Objects stay visible: some channel differs by at least 80 levels, more than gradient
// (+-8) and noise (+-8) together can bridge. This rules out white on light grey or beige.
bool visible_on(const std::string& colour, const std::string& background) {
  const auto a = colour_rgb(colour), b = colour_rgb(background);
  int most = 0;
  for (int c = 0; c < 3; ++c) most = std::max(most, std::abs(a[c] - b[c]));
  return most >= 80;
}

int sample_radius(WorldRandom& rng, bool big) { return big ? rng.between(kBigMin, kBigMax) : rng.between(kSmallMin, kSmallMax); }

WorldObject new_group(WorldRandom& rng, bool big, int count) {
  WorldObject g;
  g.shape = rng.pick(kShapes);
  g.colour = rng.pick(kColours);
  g.big = big;
  g.count = count;
  g.radius = sample_radius(rng, big);
  return g;
}

bool same_look(const WorldObject& a, const WorldObject& b) { return a.shape == b.shape && a.colour == b.colour; }

// Bounding squares at least kGap apart along some axis.
bool apart(WorldPoint a, int ra, WorldPoint b, int rb) {
  return std::abs(a.x - b.x) >= ra + rb + kGap || std::abs(a.y - b.y) >= ra + rb + kGap;
}

bool free_spot(const std::vector<WorldObject>& groups, WorldPoint p, int r) {
  for (const auto& g : groups)
    for (const auto& c : g.centres)
      if (!apart(p, r, c, g.radius)) return false;
  return true;
}

// Places every object of `groups[which]` with its centre in [x0,x1] x [y0,y1] (clamped so
// that it stays inside the picture) and clear of everything placed before.
bool place_in(WorldRandom& rng, std::vector<WorldObject>& groups, std::size_t which, int x0, int x1, int y0, int y1) {
  WorldObject& g = groups[which];
  x0 = std::max(x0, kMargin + g.radius), y0 = std::max(y0, kMargin + g.radius);
  x1 = std::min(x1, 1000 - kMargin - g.radius), y1 = std::min(y1, 1000 - kMargin - g.radius);
  if (x0 > x1 || y0 > y1) return false;
  g.centres.clear();
  for (int k = 0; k < g.count; ++k) {
    bool placed = false;
    for (int attempt = 0; attempt < 200 && !placed; ++attempt) {
      const WorldPoint p{rng.between(x0, x1), rng.between(y0, y1)};
      if (free_spot(groups, p, g.radius)) {
        g.centres.push_back(p);
        placed = true;
      }
    }
    if (!placed) return false;
  }
  return true;
}

// Objects of `groups` (one object each, or one group of several) side by side in a
// horizontal row with equal gaps, at a height in [y0, y1].
bool place_row(WorldRandom& rng, std::vector<WorldObject>& groups, int y0, int y1) {
  std::vector<std::pair<std::size_t, int>> items;  // group, radius
  int widest = 0, width = 0;
  for (std::size_t i = 0; i < groups.size(); ++i)
    for (int k = 0; k < groups[i].count; ++k) items.push_back({i, groups[i].radius});
  for (const auto& [g, r] : items) width += 2 * r, widest = std::max(widest, r);
  const int room = 1000 - 2 * kMargin - width, gaps = static_cast<int>(items.size()) - 1;
  if (room < gaps * kGap) return false;
  const int gap = rng.between(kGap, std::min(room / gaps, 160));
  const int span = width + gaps * gap;
  y0 = std::max(y0, kMargin + widest), y1 = std::min(y1, 1000 - kMargin - widest);
  if (y0 > y1) return false;
  const int y = rng.between(y0, y1);
  int x = rng.between(kMargin, 1000 - kMargin - span);
  for (auto& g : groups) g.centres.clear();
  for (const auto& [g, r] : items) {
    groups[g].centres.push_back({x + r, y});
    x += 2 * r + gap;
  }
  return true;
}

bool make_single(WorldRandom& rng, Scene& s) {
  s.groups = {new_group(rng, rng.chance(500), 1)};
  s.position = rng.pick(std::vector<std::string>{"left", "right", "top", "bottom", "centre"});
  // Off-centre by at least 150 thousandths along the stated axis, near the middle across it.
  if (s.position == "left") return place_in(rng, s.groups, 0, 0, 350, 300, 700);
  if (s.position == "right") return place_in(rng, s.groups, 0, 650, 1000, 300, 700);
  if (s.position == "top") return place_in(rng, s.groups, 0, 300, 700, 0, 350);
  if (s.position == "bottom") return place_in(rng, s.groups, 0, 300, 700, 650, 1000);
  return place_in(rng, s.groups, 0, 430, 570, 430, 570);
}

bool make_group(WorldRandom& rng, Scene& s) {
  const int count = rng.between(2, 3);
  s.groups = {new_group(rng, count == 2 && rng.chance(500), count)};  // three big ones do not fit in a row
  s.position = rng.pick(std::vector<std::string>{"", "", "top", "bottom"});
  if (s.position == "top") return place_row(rng, s.groups, 0, 330);
  if (s.position == "bottom") return place_row(rng, s.groups, 670, 1000);
  return place_row(rng, s.groups, 0, 1000);
}

bool make_relation(WorldRandom& rng, Scene& s) {
  WorldObject a = new_group(rng, rng.chance(500), rng.chance(400) ? 2 : 1);
  WorldObject b = new_group(rng, rng.chance(500), rng.chance(400) ? 2 : 1);
  if (same_look(a, b)) return false;
  s.groups = {a, b};
  s.relation = rng.pick(std::vector<std::string>{"left of", "right of", "above", "below", "next to"});
  // Each group in its own part of the picture, split at `cut` with a gap between them.
  const int cut = rng.between(440, 560), lo = cut - kGap / 2, hi = cut + kGap / 2;
  const bool horizontal = s.relation == "left of" || s.relation == "right of" || s.relation == "next to";
  const bool a_first = s.relation == "left of" || s.relation == "above" || (s.relation == "next to" && rng.chance(500));
  const std::size_t first = a_first ? 0 : 1, second = 1 - first;
  // place_in clamps the far bounds by the radius; the near bounds need it here.
  if (horizontal)
    return place_in(rng, s.groups, first, 0, lo - s.groups[first].radius, 0, 1000) &&
           place_in(rng, s.groups, second, hi + s.groups[second].radius, 1000, 0, 1000);
  return place_in(rng, s.groups, first, 0, 1000, 0, lo - s.groups[first].radius) &&
         place_in(rng, s.groups, second, 0, 1000, hi + s.groups[second].radius, 1000);
}

bool make_row(WorldRandom& rng, Scene& s) {
  s.groups.clear();
  while (s.groups.size() < 3) {
    WorldObject g = new_group(rng, false, 1);  // three big ones do not fit
    if (std::none_of(s.groups.begin(), s.groups.end(), [&](const WorldObject& o) { return same_look(o, g); }))
      s.groups.push_back(g);
  }
  return place_row(rng, s.groups, 0, 1000);
}

bool make_scene(WorldRandom& rng, SceneKind kind, Scene& s) {
  s = Scene{};
  s.kind = kind;
  switch (kind) {
    case SceneKind::single: return make_single(rng, s);
    case SceneKind::group: return make_group(rng, s);
    case SceneKind::relation: return make_relation(rng, s);
    case SceneKind::row: return make_row(rng, s);
  }
  return false;
}

void pick_background(WorldRandom& rng, Scene& s) {
  std::vector<std::string> usable;
  for (const auto& b : kBackgrounds)
    if (std::all_of(s.groups.begin(), s.groups.end(), [&](const WorldObject& g) { return visible_on(g.colour, b); }))
      usable.push_back(b);
  s.background = rng.pick(usable);  // black and dark grey suit every colour
  if (rng.chance(500)) s.gradient_x = rng.between(-16, 16), s.gradient_y = rng.between(-16, 16);
  s.noise = rng.between(3, 8);
  s.noise_seed = rng.next();
}

// Unit outlines (thousandths of the radius) as integer tables: trigonometry from libm could
// round differently on another machine.
const std::vector<cv::Point> kTriangle = {{0, -1000}, {950, 800}, {-950, 800}};
const std::vector<cv::Point> kStar = {{0, -1000}, {265, -364}, {951, -309}, {428, 139},  {588, 809},
                                      {0, 450},   {-588, 809}, {-428, 139}, {-951, -309}, {-265, -364}};

constexpr int kShift = 4;  // OpenCV fixed point: coordinates in 1/16 px

void draw_object(cv::Mat& image, const std::string& shape, WorldPoint centre, int radius, const cv::Scalar& colour) {
  const std::int64_t size = image.cols;
  auto sub = [&](int v) { return static_cast<int>((v * size * 16 + 500) / 1000); };
  const cv::Point c(sub(centre.x), sub(centre.y));
  const int r = sub(radius);
  if (shape == "circle") {
    cv::circle(image, c, r, colour, cv::FILLED, cv::LINE_8, kShift);
  } else if (shape == "square") {
    const int h = r * 850 / 1000;  // about the circle's area
    cv::rectangle(image, c - cv::Point(h, h), c + cv::Point(h, h), colour, cv::FILLED, cv::LINE_8, kShift);
  } else {
    std::vector<cv::Point> outline;
    for (const auto& p : shape == "star" ? kStar : kTriangle) outline.push_back(c + cv::Point(p.x * r / 1000, p.y * r / 1000));
    cv::fillPoly(image, std::vector<std::vector<cv::Point>>{outline}, colour, cv::LINE_8, kShift);
  }
}

nlohmann::json scene_json(const Scene& s) {
  nlohmann::json groups = nlohmann::json::array();
  for (const auto& g : s.groups) {
    nlohmann::json centres = nlohmann::json::array();
    for (const auto& c : g.centres) centres.push_back({c.x, c.y});
    groups.push_back({{"shape", g.shape}, {"colour", g.colour}, {"big", g.big}, {"count", g.count},
                      {"radius", g.radius}, {"centres", centres}});
  }
  return {{"kind", kind_name(s.kind)}, {"groups", groups}, {"relation", s.relation},
          {"position", s.position}, {"background", s.background}};
}

// Karpathy's "tokens": lower-case words without punctuation.
std::vector<std::string> tokens_of(const std::string& raw) {
  std::vector<std::string> tokens;
  std::string word;
  for (char ch : raw + " ") {
    const char c = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
      word += c;
    } else if (!word.empty()) {
      tokens.push_back(word);
      word.clear();
    }
  }
  return tokens;
}

void check_options(const WorldOptions& o) {
  if (o.image_size < 16 || o.image_size > 1024)
    throw UsageError("world: image size " + std::to_string(o.image_size) + " is outside 16..1024");
  if (o.train < 0 || o.val < 0 || o.test < 0 || o.train + o.val + o.test == 0)
    throw UsageError("world: split sizes must be >= 0 with at least one image");
  if (o.captions_per_image < 1 || o.captions_per_image > 100)
    throw UsageError("world: captions per image " + std::to_string(o.captions_per_image) + " is outside 1..100");
}

}  // namespace

WorldRandom::WorldRandom(std::uint64_t seed) {
  for (auto& s : state_) s = splitmix64(seed);
}

std::uint64_t WorldRandom::next() {
  const std::uint64_t result = rotl(state_[1] * 5, 7) * 9, t = state_[1] << 17;
  state_[2] ^= state_[0];
  state_[3] ^= state_[1];
  state_[1] ^= state_[2];
  state_[0] ^= state_[3];
  state_[2] ^= t;
  state_[3] = rotl(state_[3], 45);
  return result;
}

int WorldRandom::below(int n) {
  if (n < 1) throw Error(ExitCode::internal, "WorldRandom::below: empty range");
  const std::uint64_t range = static_cast<std::uint64_t>(n);
  const std::uint64_t limit = std::numeric_limits<std::uint64_t>::max() / range * range;
  for (;;) {
    const std::uint64_t r = next();
    if (r < limit) return static_cast<int>(r % range);
  }
}

int WorldRandom::between(int lo, int hi) { return lo + below(hi - lo + 1); }

bool WorldRandom::chance(int per_mille) { return below(1000) < per_mille; }

std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t stream) {
  std::uint64_t a = seed, b = stream ^ 0x632BE59BD9B4E019ULL;
  std::uint64_t mixed = splitmix64(a) ^ rotl(splitmix64(b), 23);
  return splitmix64(mixed);
}

const char* kind_name(SceneKind kind) {
  switch (kind) {
    case SceneKind::single: return "single";
    case SceneKind::group: return "group";
    case SceneKind::relation: return "relation";
    case SceneKind::row: return "row";
  }
  return "?";
}

std::array<int, 3> colour_rgb(const std::string& name) {
  const auto it = palette().find(name);
  if (it == palette().end()) throw UsageError("world: unknown colour '" + name + "'");
  return it->second;
}

Scene sample_scene(std::uint64_t seed) {
  WorldRandom rng(derive_seed(seed, kSceneStream));
  Scene s;
  // A draw that cannot be placed (three objects too wide for a row, pairs of big objects
  // crowding one half) is drawn again, of the same kind so that kinds stay equally likely.
  const auto kind = static_cast<SceneKind>(rng.below(4));
  bool ok = false;
  for (int attempt = 0; attempt < 100 && !ok; ++attempt) ok = make_scene(rng, kind, s);
  if (!ok) {  // never seen; keeps sample_scene total
    s = Scene{};
    s.groups = {new_group(rng, false, 1)};
    s.position = "centre";
    s.groups[0].centres = {{500, 500}};
  }
  pick_background(rng, s);
  return s;
}

std::vector<std::uint8_t> draw_scene(const Scene& scene, int size) {
  if (size < 16) throw UsageError("world: picture size " + std::to_string(size) + " is below 16");
  const auto bg = colour_rgb(scene.background);
  cv::Mat image(size, size, CV_8UC3);  // RGB order throughout
  // Background with a linear gradient, centred so that the base colour is the mean.
  const int d = std::max(1, size - 1);
  for (int y = 0; y < size; ++y)
    for (int x = 0; x < size; ++x) {
      const int shade = (scene.gradient_x * (2 * x - d)) / (2 * d) + (scene.gradient_y * (2 * y - d)) / (2 * d);
      auto* px = image.ptr<cv::Vec3b>(y) + x;
      for (int c = 0; c < 3; ++c) (*px)[c] = cv::saturate_cast<std::uint8_t>(bg[c] + shade);
    }
  for (const auto& g : scene.groups) {
    const auto rgb = colour_rgb(g.colour);
    for (const auto& centre : g.centres) draw_object(image, g.shape, centre, g.radius, cv::Scalar(rgb[0], rgb[1], rgb[2]));
  }
  std::vector<std::uint8_t> pixels(static_cast<std::size_t>(size) * size * 3);
  WorldRandom noise(scene.noise_seed);
  std::size_t i = 0;
  for (int y = 0; y < size; ++y) {
    const auto* row = image.ptr<std::uint8_t>(y);
    for (int x = 0; x < size * 3; ++x)
      pixels[i++] = cv::saturate_cast<std::uint8_t>(row[x] + noise.between(-scene.noise, scene.noise));
  }
  return pixels;
}

std::uint64_t scene_seed(std::uint64_t world_seed, const std::string& split, std::uint64_t index) {
  std::uint64_t tag = split == "train" ? 1 : split == "val" ? 2 : split == "test" ? 3 : 0;
  if (tag == 0) throw UsageError("world: unknown split '" + split + "' (train, val, test)");
  return derive_seed(derive_seed(world_seed, kSplitStream + tag), index);
}

Scene training_scene(std::uint64_t seed, std::uint64_t index) {
  return sample_scene(derive_seed(derive_seed(seed, kTrainingStream), index));
}

WorldSummary write_world(const fs::path& folder, const WorldOptions& options, bool force) {
  check_options(options);
  std::error_code ec;
  if (fs::exists(fs::symlink_status(folder, ec))) {
    if (!force)
      throw UsageError(folder.string() + ": already exists; pass --force to replace it (only a world folder is replaced)");
    if (!fs::is_directory(folder) || !fs::exists(folder / "world.json"))
      throw InputError(folder.string() + ": holds no world.json, so it is not a world folder and --force does not "
                       "replace it; move it away or choose another folder");
  }
  if (folder.has_parent_path()) fs::create_directories(folder.parent_path());
  // Built beside `folder` and renamed into place; with force, also refuses a world folder
  // someone added files to.
  io::StagingDirectory staging(folder, force);
  fs::create_directory(staging.path() / "images");

  WorldSummary summary;
  nlohmann::json images = nlohmann::json::array();
  const std::vector<std::pair<std::string, int>> splits = {
      {"train", options.train}, {"val", options.val}, {"test", options.test}};
  for (const auto& [split, count] : splits)
    for (int i = 0; i < count; ++i) {
      const std::uint64_t seed = scene_seed(options.seed, split, static_cast<std::uint64_t>(i));
      const Scene scene = sample_scene(seed);
      char name[64];
      std::snprintf(name, sizeof name, "%s_%05d.png", split.c_str(), i);
      auto pixels = draw_scene(scene, options.image_size);
      cv::Mat rgb(options.image_size, options.image_size, CV_8UC3, pixels.data()), bgr;
      cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);  // imwrite expects BGR
      const fs::path file = staging.path() / "images" / name;
      if (!cv::imwrite(file.string(), bgr)) throw Error(ExitCode::internal, file.string() + ": cannot write the picture");

      const int imgid = summary.images++;
      nlohmann::json sentences = nlohmann::json::array(), sentids = nlohmann::json::array();
      for (const auto& caption : dataset_captions(scene, options.captions_per_image, derive_seed(seed, 0xCA97))) {
        const int sentid = summary.captions++;
        sentids.push_back(sentid);
        sentences.push_back({{"raw", caption}, {"tokens", tokens_of(caption)}, {"imgid", imgid}, {"sentid", sentid}});
      }
      images.push_back({{"filepath", "images"}, {"filename", name}, {"split", split}, {"imgid", imgid},
                        {"sentids", sentids}, {"sentences", sentences}, {"scene", scene_json(scene)}});
    }
  io::write_json(staging.path() / "dataset_demo.json", {{"dataset", "demo"}, {"images", images}}, -1);
  io::write_json(staging.path() / "world.json",
                 {{"seed", options.seed}, {"image_size", options.image_size}, {"train", options.train},
                  {"val", options.val}, {"test", options.test}, {"captions_per_image", options.captions_per_image},
                  {"generator", "recap demo world 1"}});
  staging.commit();
  summary.dataset_json = folder / "dataset_demo.json";
  summary.image_folder = folder / "images";
  return summary;
}

}  // namespace recap::demo
