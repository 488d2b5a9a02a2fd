// The whole ReCap path on real files: the tiny golden CLIP embeds the golden images and a
// small datastore, the tiny golden FLAN-T5-style model writes candidates, recap-caption
// picks one. Checked against independent recomputation: retrieval by brute force over the
// datastore, the choice by re-embedding every candidate with recap-embed; plus determinism,
// independence from batching, resumption after an interruption, the gallery, bad input.
// Also recap-lm against the golden generations.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <numeric>
#include <random>
#include <regex>
#include <set>

#include "recap/io/json_file.h"
#include "recap/io/npy.h"
#include "test_support.h"

using namespace recap;
namespace fs = std::filesystem;

namespace {

const char* kCaptions[] = {"a man riding a wave on top of a surfboard", "a surfer in the ocean",
                           "two dogs play in the grass",                "a cat sleeping on a couch",
                           "a red car parked in the snow",              "a group of people standing outside a building",
                           "a plate of food with broccoli",             "a train on the tracks",
                           "a bowl of fruit on a table",                "a child flying a kite on the beach",
                           "an old clock tower in a city",              "a bird perched on a branch"};

fs::path clip_dir() { return test::test_data_dir() / "golden/clip/tiny-vit/hf"; }
fs::path lm_dir() { return test::test_data_dir() / "golden/t5/tiny-gated-untied"; }
fs::path images_dir() { return test::test_data_dir() / "golden/preprocess/images"; }

std::string q(const fs::path& p) { return "'" + p.string() + "'"; }

// Equal JSON except that numbers may differ by `tolerance`: CLIP runs each batch as
// float32 GEMMs whose shapes depend on the batch, so scores agree to ~1e-6, not bitwise.
void expect_json_near(const nlohmann::json& a, const nlohmann::json& b, double tolerance, const std::string& where = "$") {
  if (a.is_number() && b.is_number()) {
    EXPECT_NEAR(a.get<double>(), b.get<double>(), tolerance) << where;
    return;
  }
  ASSERT_EQ(a.type(), b.type()) << where;
  if (a.is_array()) {
    ASSERT_EQ(a.size(), b.size()) << where;
    for (std::size_t i = 0; i < a.size(); ++i) expect_json_near(a[i], b[i], tolerance, where + "[" + std::to_string(i) + "]");
  } else if (a.is_object()) {
    ASSERT_EQ(a.size(), b.size()) << where;
    for (auto it = a.begin(); it != a.end(); ++it) {
      ASSERT_TRUE(b.contains(it.key())) << where << "." << it.key();
      expect_json_near(it.value(), b[it.key()], tolerance, where + "." + it.key());
    }
  } else {
    EXPECT_EQ(a, b) << where;
  }
}

void expect_failure(const test::ToolRun& run, int status, const std::string& fragment) {
  EXPECT_EQ(run.status, status) << run.err;
  EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << run.err;
  EXPECT_NE(run.err.find(fragment), std::string::npos) << "expected '" << fragment << "' in: " << run.err;
}

class CaptionLm : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir();
    const auto caps = *dir_ / "captions.txt";
    {
      std::ofstream out(caps);
      for (const char* c : kCaptions) out << c << "\n";
    }
    fs::create_directories(*dir_ / "run/datastore");
    auto embed = test::run_tool("recap-embed", "--clip " + q(clip_dir()) + " --texts " + q(caps) + " --normalize --no-cache --out " +
                                                   q(*dir_ / "run/datastore/embeddings.npy"));
    ASSERT_EQ(embed.status, 0) << embed.err;
    {
      std::ofstream out(*dir_ / "run/datastore/captions.jsonl");
      for (const char* c : kCaptions) out << nlohmann::json({{"caption", c}}).dump() << "\n";
    }
    const auto store = io::read_npy_matrix(*dir_ / "run/datastore/embeddings.npy");
    const auto d = store.cols;
    // A random W near the identity: any linear map exercises the same code.
    io::FloatMatrix w(d, d);
    std::mt19937 rng(11);
    std::normal_distribution<float> normal(0.0f, 0.3f);
    for (std::int64_t i = 0; i < d; ++i)
      for (std::int64_t j = 0; j < d; ++j) w.row(i)[j] = (i == j ? 1.0f : 0.0f) + normal(rng);
    io::write_npy(*dir_ / "run/mapping.npy", w.data(), {d, d});
    io::write_json(*dir_ / "run/mapping.json", {{"normalize", true}});
    // The images' own CLIP embeddings, for the independent checks.
    auto images = test::run_tool("recap-embed", "--clip " + q(clip_dir()) + " --images " + q(images_dir()) +
                                                    " --no-cache --out " + q(*dir_ / "images.npy") + " --ids-out " +
                                                    q(*dir_ / "image_files.json"));
    ASSERT_EQ(images.status, 0) << images.err;
  }
  static void TearDownTestSuite() { delete dir_; }
  static fs::path path(const std::string& name) { return *dir_ / name; }
  static std::string caption_args(const std::string& out, const std::string& extra = "") {
    return "--run " + q(path("run")) + " --clip " + q(clip_dir()) + " --images " + q(images_dir()) + " --lm " + q(lm_dir()) +
           " --k 4 --candidate-beams 3 --candidate-samples 6 --seed 5 --max-new-tokens 12 --no-cache --out " + q(path(out)) +
           " " + extra;
  }
  // normalize(normalize(x) @ W) for every image row.
  static io::FloatMatrix mapped_images() {
    auto x = io::read_npy_matrix(path("images.npy"));
    const auto w = io::read_npy_matrix(path("run/mapping.npy"));
    io::FloatMatrix m(x.rows, w.cols);
    for (std::int64_t r = 0; r < x.rows; ++r) {
      double n = 0;
      for (std::int64_t i = 0; i < x.cols; ++i) n += double(x.row(r)[i]) * x.row(r)[i];
      for (std::int64_t j = 0; j < w.cols; ++j) {
        double s = 0;
        for (std::int64_t i = 0; i < x.cols; ++i) s += x.row(r)[i] / std::sqrt(n) * w.row(i)[j];
        m.row(r)[j] = static_cast<float>(s);
      }
      double mn = 0;
      for (std::int64_t j = 0; j < w.cols; ++j) mn += double(m.row(r)[j]) * m.row(r)[j];
      for (std::int64_t j = 0; j < w.cols; ++j) m.row(r)[j] = static_cast<float>(m.row(r)[j] / std::sqrt(mn));
    }
    return m;
  }
  static test::TempDir* dir_;
};
test::TempDir* CaptionLm::dir_ = nullptr;

double dot(const float* a, const float* b, std::int64_t n) {
  double s = 0;
  for (std::int64_t i = 0; i < n; ++i) s += double(a[i]) * b[i];
  return s;
}

}  // namespace

TEST_F(CaptionLm, WholePathMatchesIndependentRecomputation) {
  auto run = test::run_tool("recap-caption", caption_args("a.json", "--details " + q(path("a.jsonl")) + " --html " +
                                                                        q(path("a.html"))));
  ASSERT_EQ(run.status, 0) << run.err;
  const auto results = io::read_json(path("a.json"));
  const auto details = io::read_jsonl(path("a.jsonl"));
  const auto files = io::read_json(path("image_files.json"));
  const auto mapped = mapped_images();
  const auto store = io::read_npy_matrix(path("run/datastore/embeddings.npy"));
  ASSERT_EQ(results.size(), 11u);
  ASSERT_EQ(details.size(), 11u);
  ASSERT_EQ(static_cast<std::int64_t>(files.size()), mapped.rows);

  std::vector<std::string> all_candidates;
  for (std::size_t i = 0; i < details.size(); ++i) {
    const auto& d = details[i];
    EXPECT_EQ(results[i]["image_id"], d["image_id"]);
    EXPECT_EQ(results[i]["caption"], d["caption"]);
    EXPECT_EQ(fs::path(d["file"].get<std::string>()).filename(), fs::path(files[i].get<std::string>()).filename());
    // Retrieval equals a brute-force search over the datastore.
    std::vector<std::pair<double, std::int64_t>> sims;
    for (std::int64_t c = 0; c < store.rows; ++c) sims.push_back({dot(mapped.row(i), store.row(c), store.cols), c});
    std::sort(sims.begin(), sims.end(), [](auto& a, auto& b) { return a.first > b.first; });
    ASSERT_EQ(d["retrieved"].size(), 4u);
    for (std::size_t j = 0; j < 4; ++j) {
      EXPECT_EQ(d["retrieved"][j]["index"].get<std::int64_t>(), sims[j].second) << "image " << i << " rank " << j;
      EXPECT_NEAR(d["retrieved"][j]["similarity"].get<double>(), sims[j].first, 1e-4);
      EXPECT_NE(d["prompt"].get<std::string>().find(kCaptions[sims[j].second]), std::string::npos);
    }
    EXPECT_EQ(d["prompt"].get<std::string>().rfind("Similar images show: ", 0), 0u);
    // Candidates: distinct, at most 3 beams + 6 samples, the chosen one has the top score.
    const auto& cands = d["candidates"];
    ASSERT_GE(cands.size(), 1u);
    ASSERT_LE(cands.size(), 9u);
    std::set<std::string> distinct;
    std::size_t best = 0;
    for (std::size_t c = 0; c < cands.size(); ++c) {
      EXPECT_TRUE(distinct.insert(cands[c]["text"].get<std::string>()).second);
      if (cands[c]["score"].get<double>() > cands[best]["score"].get<double>()) best = c;
      all_candidates.push_back(cands[c]["text"]);
    }
    EXPECT_EQ(d["chosen"].get<std::size_t>(), best);
    EXPECT_EQ(d["caption"], cands[best]["text"]);
  }
  // Every candidate's score is the cosine of its CLIP text embedding (recap-embed) with
  // the mapped image embedding (computed here).
  {
    std::ofstream out(path("cands.txt"));
    for (const auto& c : all_candidates) out << c << "\n";
  }
  auto emb = test::run_tool("recap-embed", "--clip " + q(clip_dir()) + " --texts " + q(path("cands.txt")) +
                                               " --normalize --no-cache --out " + q(path("cands.npy")));
  ASSERT_EQ(emb.status, 0) << emb.err;
  const auto cand_emb = io::read_npy_matrix(path("cands.npy"));
  std::int64_t row = 0;
  for (std::size_t i = 0; i < details.size(); ++i)
    for (const auto& c : details[i]["candidates"])
      EXPECT_NEAR(c["score"].get<double>(), dot(mapped.row(i), cand_emb.row(row++), mapped.cols), 1e-4);

  // The gallery: one card per image, every thumbnail embedded, nothing fetched from outside.
  const std::string html = test::read_bytes(path("a.html"));
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(html.find("</html>"), std::string::npos);
  auto count = [&](const std::string& s) {
    std::size_t n = 0;
    for (auto p = html.find(s); p != std::string::npos; p = html.find(s, p + 1)) ++n;
    return n;
  };
  EXPECT_EQ(count("class=\"card\""), 11u);
  EXPECT_EQ(count("src=\"data:image/jpeg;base64,"), 11u);
  EXPECT_EQ(count("http://") + count("https://"), 0u);
  EXPECT_NE(html.find("sortCards"), std::string::npos);
  EXPECT_FALSE(fs::exists(path("a.json.partial.jsonl")));
}

TEST_F(CaptionLm, SeededRunsAreIdenticalWhateverTheBatching) {
  auto a = test::run_tool("recap-caption", caption_args("s1.json", "--details " + q(path("s1.jsonl")) + " --batch-size 16"));
  auto b = test::run_tool("recap-caption", caption_args("s2.json", "--details " + q(path("s2.jsonl")) + " --batch-size 3 -v"));
  ASSERT_EQ(a.status, 0) << a.err;
  ASSERT_EQ(b.status, 0) << b.err;
  // --verbose times each phase, the LM captioner's own within captioning (4 batches added up).
  EXPECT_TRUE(std::regex_search(b.err, std::regex("time: load [0-9.]+ s, embed images [0-9.]+ s, search [0-9.]+ s, "
                                                  "caption [0-9.]+ s \\(generate [0-9.]+ s, score candidates [0-9.]+ s\\), "
                                                  "write [0-9.]+ s\n")))
      << b.err;
  // The same captions, retrievals and choices; scores within float32 rounding.
  EXPECT_EQ(io::read_json(path("s1.json")), io::read_json(path("s2.json")));
  expect_json_near(io::read_jsonl(path("s1.jsonl")), io::read_jsonl(path("s2.jsonl")), 1e-5);
  // Another seed samples other candidates.
  auto c = test::run_tool("recap-caption", caption_args("s3.json", "--details " + q(path("s3.jsonl"))) + " --seed 6");
  ASSERT_EQ(c.status, 0) << c.err;
  EXPECT_NE(io::read_jsonl(path("s1.jsonl")), io::read_jsonl(path("s3.jsonl")));
}

TEST_F(CaptionLm, InterruptedRunResumesWithoutLosingCaptions) {
  auto whole = test::run_tool("recap-caption", caption_args("w.json", "--batch-size 4"));
  ASSERT_EQ(whole.status, 0) << whole.err;
  auto cut = test::run_tool("recap-caption", caption_args("r.json", "--batch-size 4 --stop-after-batches 2"));
  ASSERT_EQ(cut.status, 75) << cut.err;
  EXPECT_FALSE(fs::exists(path("r.json")));
  const auto partial = path("r.json.partial.jsonl");
  ASSERT_TRUE(fs::exists(partial));
  // Settings line + 8 captioned images survive; a crash mid-write leaves half a line.
  EXPECT_EQ(io::read_jsonl(partial).size(), 9u);
  {
    std::ofstream out(partial, std::ios::app);
    out << "{\"image_id\": \"half a reco";
  }
  // Other settings are refused rather than mixed in.
  expect_failure(test::run_tool("recap-caption", caption_args("r.json", "--batch-size 4") + " --k 3"), 2, "other settings");
  auto resumed = test::run_tool("recap-caption", caption_args("r.json", "--batch-size 4 --details " + q(path("r.jsonl"))));
  ASSERT_EQ(resumed.status, 0) << resumed.err;
  EXPECT_NE(resumed.err.find("resuming: 8 images"), std::string::npos) << resumed.err;
  EXPECT_EQ(io::read_json(path("r.json")), io::read_json(path("w.json")));
  EXPECT_EQ(io::read_jsonl(path("r.jsonl")).size(), 11u);
  EXPECT_FALSE(fs::exists(partial));
}

TEST_F(CaptionLm, RetrievalOnlyFromImages) {
  auto run = test::run_tool("recap-caption", "--run " + q(path("run")) + " --clip " + q(clip_dir()) + " --images " +
                                                 q(images_dir()) + " --k 3 --no-cache --out " + q(path("ret.json")) +
                                                 " --html " + q(path("ret.html")));
  ASSERT_EQ(run.status, 0) << run.err;
  const auto results = io::read_json(path("ret.json"));
  const auto mapped = mapped_images();
  const auto store = io::read_npy_matrix(path("run/datastore/embeddings.npy"));
  ASSERT_EQ(results.size(), 11u);
  for (std::int64_t i = 0; i < 11; ++i) {
    std::int64_t best = 0;
    for (std::int64_t c = 1; c < store.rows; ++c)
      if (dot(mapped.row(i), store.row(c), store.cols) > dot(mapped.row(i), store.row(best), store.cols)) best = c;
    EXPECT_EQ(results[i]["caption"], kCaptions[best]);
  }
}

TEST_F(CaptionLm, BadInputsAreClearErrors) {
  expect_failure(test::run_tool("recap-caption", caption_args("e1.json") + " --prompt-template 'Describe:'"), 2, "{captions}");
  expect_failure(test::run_tool("recap-caption", caption_args("e2.json") + " --k 0"), 2, "--k");
  expect_failure(test::run_tool("recap-caption", caption_args("e3.json") + " --candidate-beams 0 --candidate-samples 0"), 2,
                 "M = 0");
  expect_failure(test::run_tool("recap-caption", caption_args("e4.json") + " --lm " + q(clip_dir())), 3, "not a T5");
  expect_failure(test::run_tool("recap-caption", caption_args("e5.json") + " --lm " + q(path("nowhere"))), 3, "nowhere");
  expect_failure(test::run_tool("recap-caption", caption_args("e6.json") + " --device cuda"), 2, "cuda");
  expect_failure(test::run_tool("recap-caption", "--run " + q(path("run")) + " --images " + q(images_dir()) + " --out " +
                                                     q(path("e7.json"))),
                 2, "--clip");
  expect_failure(test::run_tool("recap-caption", caption_args("e8.json") + " --k 50"), 2, "larger than the datastore");
  for (int i = 1; i <= 8; ++i) EXPECT_FALSE(fs::exists(path("e" + std::to_string(i) + ".json")));
}

TEST(RecapLm, GenerationsAndLogitsMatchTheGolden) {
  test::TempDir dir;
  const auto g = test::test_data_dir() / "golden/t5/tiny-gated";
  auto run = test::run_tool("recap-lm", "--lm " + q(g) + " --input-ids " + q(g / "input_ids.npy") + " --attention-mask " +
                                            q(g / "attention_mask.npy") +
                                            " --max-new-tokens 16 --num-beams 4 --num-return-sequences 2 --out " +
                                            q(dir / "beam.json"));
  ASSERT_EQ(run.status, 0) << run.err;
  const auto golden = io::read_json(g / "golden.json");
  const auto beam = io::read_json(dir / "beam.json")["sequences"];
  const auto& want = golden["beam4_max_new_tokens_16_length_penalty_1_two_returned"];
  ASSERT_EQ(beam.size(), want.size());
  auto until_eos = [](const nlohmann::json& row) {
    std::vector<std::int64_t> out;
    for (const auto& v : row) {
      out.push_back(v.get<std::int64_t>());
      if (out.size() > 1 && out.back() == 1) break;
    }
    return out;
  };
  for (std::size_t r = 0; r < want.size(); ++r) EXPECT_EQ(until_eos(beam[r]), until_eos(want[r])) << r;
  // Greedy from text: the same ids as from the golden ids, and the decoded text printed.
  run = test::run_tool("recap-lm", "--lm " + q(g) + " --prompt " + q(golden["texts"][1].get<std::string>()) +
                                       " --max-new-tokens 16 --out " + q(dir / "greedy.json"));
  ASSERT_EQ(run.status, 0) << run.err;
  const auto greedy = io::read_json(dir / "greedy.json");
  EXPECT_EQ(until_eos(greedy["sequences"][0]), until_eos(golden["greedy_max_new_tokens_16"][1]));
  EXPECT_EQ(run.out, greedy["texts"][0].get<std::string>() + "\n");
  // Teacher-forced logits.
  run = test::run_tool("recap-lm", "--lm " + q(g) + " --input-ids " + q(g / "input_ids.npy") + " --attention-mask " +
                                       q(g / "attention_mask.npy") + " --decoder-input-ids " + q(g / "decoder_input_ids.npy") +
                                       " --logits-out " + q(dir / "logits.npy"));
  ASSERT_EQ(run.status, 0) << run.err;
  EXPECT_EQ(test::read_bytes(dir / "logits.npy").size(), test::read_bytes(g / "logits.npy").size());
  // Bad input: ids outside the vocabulary, no output without --force.
  std::vector<std::int64_t> bad = {5, 900};
  io::write_npy(dir / "bad.npy", bad.data(), {1, 2});
  expect_failure(test::run_tool("recap-lm", "--lm " + q(g) + " --input-ids " + q(dir / "bad.npy") + " --out " + q(dir / "x.json")),
                 3, "outside the vocabulary");
  expect_failure(test::run_tool("recap-lm", "--lm " + q(g) + " --prompt hi --out " + q(dir / "beam.json")), 2, "--force");
  expect_failure(test::run_tool("recap-lm", "--lm " + q(g) + " --prompt '' --out " + q(dir / "empty.json")), 2,
                 "--prompt is empty");
}
