// Captions of demo-world scenes in two styles: fluent dataset captions (templates with
// paraphrases and synonyms, like COCO's five per image) and noisy web "alt text" (keywords,
// dropped and reordered attributes), the kind of text CLIP is pretrained on. Repeated
// entries in the word lists make the plain word more frequent than its synonyms.
#include <cctype>
#include <set>

#include "recap/demo/world.h"

namespace recap::demo {
namespace {

using Words = std::vector<std::string>;

struct Noun {
  std::string singular, plural;
};

const std::vector<Noun>& nouns(const std::string& shape) {
  static const std::vector<Noun> circle = {{"circle", "circles"}, {"circle", "circles"}, {"disc", "discs"}, {"dot", "dots"}};
  static const std::vector<Noun> square = {{"square", "squares"}, {"square", "squares"}, {"box", "boxes"}, {"block", "blocks"}};
  static const std::vector<Noun> triangle = {{"triangle", "triangles"}};
  static const std::vector<Noun> star = {{"star", "stars"}};
  return shape == "circle" ? circle : shape == "square" ? square : shape == "triangle" ? triangle : star;
}

const Words& size_words(bool big) {
  static const Words small = {"small", "small", "little", "tiny"}, large = {"big", "big", "large"};
  return big ? large : small;
}

const Words& position_phrases(const std::string& p) {
  static const Words left = {"on the left", "on the left", "on the left side", "on the left of the picture", "at the left",
                             "in the left half of the image"};
  static const Words right = {"on the right", "on the right", "on the right side", "on the right of the picture",
                              "at the right", "in the right half of the image"};
  static const Words top = {"at the top", "at the top", "near the top", "at the top of the picture",
                            "in the top of the picture", "in the upper part of the image"};
  static const Words bottom = {"at the bottom", "at the bottom", "near the bottom", "at the bottom of the picture",
                               "in the bottom of the image", "in the lower part of the picture"};
  static const Words centre = {"in the centre", "in the centre", "in the middle", "in the centre of the picture",
                               "in the middle of the image"};
  return p == "left" ? left : p == "right" ? right : p == "top" ? top : p == "bottom" ? bottom : centre;
}

const Words& relation_phrases(const std::string& r) {
  static const Words left = {"left of", "to the left of", "to the left of", "on the left of"};
  static const Words right = {"right of", "to the right of", "to the right of", "on the right of"};
  static const Words above = {"above", "above", "over"}, below = {"below", "below", "under", "beneath"};
  static const Words next = {"next to", "next to", "beside"};
  return r == "left of" ? left : r == "right of" ? right : r == "above" ? above : r == "below" ? below : next;
}

std::string inverse(const std::string& r) {
  return r == "left of" ? "right of" : r == "right of" ? "left of" : r == "above" ? "below" : r == "below" ? "above" : r;
}

const Words kPrefixes = {"a picture of ", "an image of ", "a drawing of ", "a photo of ", "a simple drawing of "};

std::string number_word(int count) { return count == 1 ? "one" : count == 2 ? "two" : "three"; }
std::string verb(const WorldObject& g) { return g.count == 1 ? "is" : "are"; }

// "a small red circle", "a pair of little red discs", "three big boxes in blue".
std::string noun_phrase(const WorldObject& g, WorldRandom& rng, bool with_size) {
  const Noun& noun = rng.pick(nouns(g.shape));
  const std::string shape = g.count == 1 ? noun.singular : noun.plural;
  const std::string size = with_size ? rng.pick(size_words(g.big)) + " " : "";
  const std::string det = g.count == 1   ? rng.pick(Words{"a", "a", "a", "a", "one", "a single"})
                          : g.count == 2 ? rng.pick(Words{"two", "two", "two", "a pair of"})
                                         : rng.pick(Words{"three", "three", "three", "a group of three"});
  if (rng.chance(100)) return det + " " + size + shape + " in " + g.colour;
  return det + " " + size + g.colour + " " + shape;
}

std::string maybe_prefixed(WorldRandom& rng, const std::string& body) {
  return rng.chance(150) ? rng.pick(kPrefixes) + body : body;
}

std::string single_caption(const Scene& s, WorldRandom& rng, bool with_size, bool with_where) {
  const std::string np = noun_phrase(s.groups[0], rng, with_size);
  if (!with_where) return maybe_prefixed(rng, np);
  const std::string where = rng.pick(position_phrases(s.position));
  switch (rng.below(4)) {
    case 0: return where + " there is " + np;
    case 1: return "there is " + np + " " + where;
    default: return maybe_prefixed(rng, np + " " + where);
  }
}

std::string group_caption(const Scene& s, WorldRandom& rng, bool with_size, bool with_where) {
  const WorldObject& g = s.groups[0];
  const std::string where = !s.position.empty() && with_where ? " " + rng.pick(position_phrases(s.position)) : "";
  switch (rng.below(5)) {
    case 0: {  // "a row of three small red circles"
      const std::string size = with_size ? rng.pick(size_words(g.big)) + " " : "";
      const std::string shapes = rng.pick(nouns(g.shape)).plural;
      return maybe_prefixed(rng, "a row of " + number_word(g.count) + " " + size + g.colour + " " + shapes + where);
    }
    case 1: {
      const std::string np = noun_phrase(g, rng, with_size);
      const std::string how = g.count == 2 ? rng.pick(Words{" side by side", " next to each other"}) : " in a line";
      return maybe_prefixed(rng, np + how + where);
    }
    case 2: return "there are " + noun_phrase(g, rng, with_size) + (where.empty() ? " in a row" : where);
    case 3: return maybe_prefixed(rng, noun_phrase(g, rng, with_size) + (where.empty() ? " in a row" : where));
    default: return maybe_prefixed(rng, noun_phrase(g, rng, with_size) + " in a row" + where);
  }
}

std::string relation_caption(const Scene& s, WorldRandom& rng, bool with_size, bool with_where) {
  const WorldObject &a = s.groups[0], &b = s.groups[1];
  const std::string na = noun_phrase(a, rng, with_size), nb = noun_phrase(b, rng, with_size);
  if (!with_where) return maybe_prefixed(rng, rng.chance(500) ? na + " and " + nb : nb + " and " + na);
  const std::string& r = s.relation;
  switch (rng.below(6)) {
    case 0: return maybe_prefixed(rng, nb + " " + rng.pick(relation_phrases(inverse(r))) + " " + na);
    case 1: return na + " " + verb(a) + " " + rng.pick(relation_phrases(r)) + " " + nb;
    case 2: return "there " + verb(a) + " " + na + " " + rng.pick(relation_phrases(r)) + " " + nb;
    case 3: {  // "a red circle on the left and a blue square on the right"
      if (r == "next to") return maybe_prefixed(rng, na + " and " + nb + rng.pick(Words{" side by side", " next to each other"}));
      const std::string side_a = r == "left of" ? "left" : r == "right of" ? "right" : r == "above" ? "top" : "bottom";
      const std::string side_b = side_a == "left" ? "right" : side_a == "right" ? "left" : side_a == "top" ? "bottom" : "top";
      return na + " " + rng.pick(position_phrases(side_a)) + " and " + nb + " " + rng.pick(position_phrases(side_b));
    }
    default: return maybe_prefixed(rng, na + " " + rng.pick(relation_phrases(r)) + " " + nb);
  }
}

std::string row_caption(const Scene& s, WorldRandom& rng, bool with_size, bool with_where) {
  // All three are small (three big ones do not fit in a row): sizes add little here.
  const bool sizes = with_size && rng.chance(500);
  const std::string list = noun_phrase(s.groups[0], rng, sizes) + ", " + noun_phrase(s.groups[1], rng, sizes) + " and " +
                           noun_phrase(s.groups[2], rng, sizes);
  if (!with_where) return maybe_prefixed(rng, list);
  switch (rng.below(5)) {
    case 0: return "a row with " + list;
    case 1: return maybe_prefixed(rng, list + " from left to right");
    case 2: return "from left to right: " + list;
    case 3: return "three shapes in a row: " + list;
    default: return maybe_prefixed(rng, list + " in a row");
  }
}

std::string dataset_caption(const Scene& s, WorldRandom& rng) {
  const bool with_size = !rng.chance(200), with_where = !rng.chance(150);
  switch (s.kind) {
    case SceneKind::single: return single_caption(s, rng, with_size, with_where);
    case SceneKind::group: return group_caption(s, rng, with_size, with_where);
    case SceneKind::relation: return relation_caption(s, rng, with_size, with_where);
    case SceneKind::row: return row_caption(s, rng, with_size, with_where);
  }
  return "";
}

// ---- web captions ----

const Words kWebPrefixes = {"image of", "picture of", "clipart", "shapes:", "graphic", "vector", "icon", "cartoon"};
const Words kWebSuffixes = {"clipart", "icon", "vector", "graphic", "illustration", "picture", "image", "png", "stock image"};

std::string joined(const Words& words, const std::string& separator) {
  std::string text;
  for (const auto& w : words)
    if (!w.empty()) text += (text.empty() ? "" : separator) + w;
  return text;
}

// One group as keywords: "2 small red stars", "stars yellow", "red circle x2", plus a
// place keyword ("left", "top") when given.
std::string web_group(const WorldObject& g, WorldRandom& rng, const std::string& place) {
  std::string count, size, colour, shape;
  if (g.count > 1 && rng.chance(800))
    count = rng.chance(600) ? std::to_string(g.count) : number_word(g.count);
  else if (g.count == 1 && rng.chance(150))
    count = rng.pick(Words{"1", "one", "single"});
  // The web's words are the plain ones only: "disc", "box", "little", "a pair of" are the
  // dataset's style, which CLIP never saw in training and the linear map has to bridge.
  if (rng.chance(800)) size = g.big ? "big" : "small";
  if (rng.chance(950)) colour = g.colour;
  if (rng.chance(950)) {
    const Noun& noun = nouns(g.shape).front();
    shape = g.count > 1 && rng.chance(800) ? noun.plural : noun.singular;  // web text gets plurals wrong
  }
  if (colour.empty() && shape.empty()) colour = g.colour;
  Words words = {count, size, colour, shape};
  if (rng.chance(300)) std::swap(words[2], words[3]);  // "circle red"
  if (!count.empty() && std::isdigit(static_cast<unsigned char>(count[0])) && rng.chance(200)) {
    words[0].clear();
    words.push_back("x" + count);  // "red circles x2"
  }
  words.push_back(place);
  return joined(words, " ");
}

// The place keyword of each group: what a relation or position says about it.
Words place_words(const Scene& s) {
  if (s.kind == SceneKind::single) return {s.position == "centre" ? "center" : s.position};
  if (s.kind == SceneKind::group) return {s.position};
  if (s.kind == SceneKind::relation) {
    const std::string& r = s.relation;
    if (r == "left of") return {"left", "right"};
    if (r == "right of") return {"right", "left"};
    if (r == "above") return {"top", "bottom"};
    if (r == "below") return {"bottom", "top"};
  }
  return Words(s.groups.size());
}

// The scene's own noise seed takes part, so that one caption seed used for many scenes
// (a caller's constant) still words each scene independently.
std::uint64_t caption_seed(const Scene& scene, std::uint64_t seed, std::uint64_t stream) {
  return derive_seed(derive_seed(seed, stream), scene.noise_seed);
}

}  // namespace

std::vector<std::string> dataset_captions(const Scene& scene, int n, std::uint64_t seed) {
  std::vector<std::string> out;
  if (n <= 0 || scene.groups.empty()) return out;
  WorldRandom rng(caption_seed(scene, seed, 0xCA97));
  std::set<std::string> seen;
  for (int attempt = 0; static_cast<int>(out.size()) < n && attempt < 50 * n + 50; ++attempt) {
    std::string caption = dataset_caption(scene, rng);
    if (seen.insert(caption).second) out.push_back(std::move(caption));
  }
  // The closest distinct variants: prefixed versions of the captions found.
  const std::size_t found = out.size();
  for (const auto& prefix : kPrefixes)
    for (std::size_t i = 0; i < found && static_cast<int>(out.size()) < n; ++i)
      if (seen.insert(prefix + out[i]).second) out.push_back(prefix + out[i]);
  for (std::size_t i = 0; static_cast<int>(out.size()) < n; ++i) out.push_back(out[i]);  // n beyond every variant
  return out;
}

std::string web_caption(const Scene& scene, std::uint64_t seed) {
  WorldRandom rng(caption_seed(scene, seed, 0x3EB));
  Words places = place_words(scene);
  if (!rng.chance(800)) places.assign(scene.groups.size(), "");  // where things are: dropped
  std::vector<std::size_t> order(scene.groups.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::string joiner;  // "A left of B" instead of place keywords
  if (scene.kind == SceneKind::relation && !places[0].empty() && rng.chance(400)) {
    joiner = scene.relation;
    places.assign(2, "");
  } else if (scene.kind == SceneKind::relation && scene.relation == "next to" && rng.chance(500)) {
    joiner = rng.pick(Words{"next to", "beside", "and"});
  } else if (scene.kind != SceneKind::single && rng.chance(350)) {
    // Keywords carry the places, so the order can go; a row loses its left-to-right order.
    for (std::size_t i = order.size(); i > 1; --i)
      std::swap(order[i - 1], order[static_cast<std::size_t>(rng.below(static_cast<int>(i)))]);
  }
  Words groups;
  for (std::size_t i : order) groups.push_back(web_group(scene.groups[i], rng, places[i]));
  std::string text = joiner.empty() ? joined(groups, rng.pick(Words{" ", ", ", ", ", " and ", " + ", " with "}))
                                    : groups[0] + " " + joiner + " " + groups[1];
  if (scene.kind == SceneKind::row && rng.chance(800))
    text = rng.chance(500) ? rng.pick(Words{"row", "3 shapes"}) + " " + text
                           : text + " " + rng.pick(Words{"row", "in a row", "in a line"});
  if (scene.kind == SceneKind::group && rng.chance(400)) text += " " + rng.pick(Words{"row", "in a row", "pattern"});
  if (rng.chance(150)) text += rng.chance(500) ? " on " + scene.background : " " + scene.background + " background";
  if (rng.chance(350)) text = rng.pick(kWebPrefixes) + " " + text;
  if (rng.chance(350)) text += " " + rng.pick(kWebSuffixes);
  return text;
}

std::vector<std::string> caption_corpus(std::uint64_t seed, int scenes) {
  std::vector<std::string> corpus;
  for (int i = 0; i < scenes; ++i) {
    const std::uint64_t s = derive_seed(derive_seed(seed, 0xC0415), static_cast<std::uint64_t>(i));
    const Scene scene = sample_scene(s);
    for (auto& caption : dataset_captions(scene, 5, derive_seed(s, 1))) corpus.push_back(std::move(caption));
    corpus.push_back(web_caption(scene, derive_seed(s, 2)));
    corpus.push_back(web_caption(scene, derive_seed(s, 3)));
  }
  return corpus;
}

}  // namespace recap::demo
