// T5 v1.0 (relu feed-forward, head tied to the shared embedding and rescaled by
// d_model^-0.5) has no golden folder: this test writes a small random checkpoint in Hugging
// Face layout and compares the model with a direct double-precision transcription of the
// definition (Raffel et al. 2020; modeling_t5.py): RMS norm, unscaled attention with
// bucketed relative position biases (bidirectional in the encoder, causal in the decoder),
// padding masks, relu feed-forward. Then greedy generation, beam/sampling invariants and
// scores checked against teacher-forced log-probabilities.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <optional>
#include <random>
#include <set>

#include "recap/common/error.h"
#include "recap/io/atomic_file.h"
#include "recap/io/json_file.h"
#include "recap/models/t5_model.h"
#include "test_support.h"

namespace fs = std::filesystem;
using recap::models::Decoding;
using recap::models::GenerationOptions;
using recap::models::IdRows;
using recap::models::T5Model;

namespace {

constexpr int V = 24, D = 8, DKV = 4, H = 2, FF = 12, LAYERS = 2, BUCKETS = 8, MAXDIST = 12;
constexpr double EPS = 1e-6;

using Weights = std::map<std::string, std::pair<std::vector<std::int64_t>, std::vector<float>>>;

// A safetensors file: 8-byte header length, JSON header, raw little-endian float32 data.
void write_safetensors(const fs::path& path, const Weights& w) {
  nlohmann::json header = nlohmann::json::object();
  std::string data;
  for (const auto& [name, tensor] : w) {
    const auto begin = data.size();
    data.append(reinterpret_cast<const char*>(tensor.second.data()), tensor.second.size() * sizeof(float));
    header[name] = {{"dtype", "F32"}, {"shape", tensor.first}, {"data_offsets", {begin, data.size()}}};
  }
  std::string text = header.dump();
  while (text.size() % 8) text += ' ';
  std::string bytes(8, '\0');
  std::uint64_t n = text.size();
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  recap::test::write_bytes(path, bytes + text + data);
}

Weights random_weights(std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.4f);
  Weights w;
  auto add = [&](const std::string& name, std::vector<std::int64_t> shape, bool norm = false) {
    std::int64_t n = 1;
    for (auto s : shape) n *= s;
    std::vector<float> v(static_cast<std::size_t>(n));
    for (auto& x : v) x = norm ? 1.0f + 0.2f * normal(rng) : normal(rng);
    w[name] = {shape, v};
  };
  add("shared.weight", {V, D});
  for (const std::string stack : {"encoder", "decoder"}) {
    for (int l = 0; l < LAYERS; ++l) {
      const std::string b = stack + ".block." + std::to_string(l) + ".layer.";
      for (const char* p : {"q", "k", "v"}) add(b + "0.SelfAttention." + p + ".weight", {H * DKV, D});
      add(b + "0.SelfAttention.o.weight", {D, H * DKV});
      if (l == 0) add(b + "0.SelfAttention.relative_attention_bias.weight", {BUCKETS, H});
      add(b + "0.layer_norm.weight", {D}, true);
      int ff = 1;
      if (stack == "decoder") {
        for (const char* p : {"q", "k", "v"}) add(b + "1.EncDecAttention." + p + ".weight", {H * DKV, D});
        add(b + "1.EncDecAttention.o.weight", {D, H * DKV});
        add(b + "1.layer_norm.weight", {D}, true);
        ff = 2;
      }
      add(b + std::to_string(ff) + ".DenseReluDense.wi.weight", {FF, D});
      add(b + std::to_string(ff) + ".DenseReluDense.wo.weight", {D, FF});
      add(b + std::to_string(ff) + ".layer_norm.weight", {D}, true);
    }
    add(stack + ".final_layer_norm.weight", {D}, true);
  }
  return w;
}

// ---- The reference, written from the definition in double precision. ----
using Mat = std::vector<std::vector<double>>;  // [positions][features]

struct Reference {
  const Weights& w;
  bool rescale;

  const std::vector<float>& get(const std::string& name) const { return w.at(name).second; }
  // y = x W^T for a [out, in] weight
  Mat linear(const Mat& x, const std::string& name, int out, int in) const {
    const auto& m = get(name);
    Mat y(x.size(), std::vector<double>(out, 0.0));
    for (std::size_t t = 0; t < x.size(); ++t)
      for (int o = 0; o < out; ++o)
        for (int i = 0; i < in; ++i) y[t][o] += m[o * in + i] * x[t][i];
    return y;
  }
  Mat rms(const Mat& x, const std::string& name) const {
    const auto& g = get(name);
    Mat y = x;
    for (auto& row : y) {
      double ms = 0;
      for (double v : row) ms += v * v;
      ms /= row.size();
      for (int i = 0; i < D; ++i) row[i] = g[i] * row[i] / std::sqrt(ms + EPS);
    }
    return y;
  }
  static int bucket(int relative, bool bidirectional) {
    int n = BUCKETS, out = 0;
    if (bidirectional) {
      n /= 2;
      if (relative > 0) out += n;
      relative = std::abs(relative);
    } else {
      relative = relative < 0 ? -relative : 0;
    }
    const int exact = n / 2;
    if (relative < exact) return out + relative;
    int large = exact + static_cast<int>(std::log(double(relative) / exact) / std::log(double(MAXDIST) / exact) * (n - exact));
    return out + std::min(large, n - 1);
  }
  // Attention of queries x over keys/values kv; `allowed(i, j)`; bias table or none.
  template <typename Allowed>
  Mat attention(const Mat& x, const Mat& kv, const std::string& prefix, const std::string* bias_table, bool bidirectional,
                Allowed allowed) const {
    const Mat q = linear(x, prefix + "q.weight", H * DKV, D), k = linear(kv, prefix + "k.weight", H * DKV, D),
              v = linear(kv, prefix + "v.weight", H * DKV, D);
    Mat out(x.size(), std::vector<double>(H * DKV, 0.0));
    for (int h = 0; h < H; ++h) {
      for (std::size_t i = 0; i < x.size(); ++i) {
        std::vector<double> s(kv.size(), -1e300);
        double top = -1e300;
        for (std::size_t j = 0; j < kv.size(); ++j) {
          if (!allowed(i, j)) continue;
          double dot = 0;
          for (int d = 0; d < DKV; ++d) dot += q[i][h * DKV + d] * k[j][h * DKV + d];  // no 1/sqrt(d)
          if (bias_table) dot += get(*bias_table)[bucket(int(j) - int(i), bidirectional) * H + h];
          s[j] = dot;
          top = std::max(top, dot);
        }
        double z = 0;
        for (auto& e : s) z += (e = e > -1e299 ? std::exp(e - top) : 0.0);
        for (std::size_t j = 0; j < kv.size(); ++j)
          for (int d = 0; d < DKV; ++d) out[i][h * DKV + d] += s[j] / z * v[j][h * DKV + d];
      }
    }
    return linear(out, prefix + "o.weight", D, H * DKV);
  }
  Mat ff(const Mat& x, const std::string& prefix) const {
    Mat h = linear(x, prefix + "wi.weight", FF, D);
    for (auto& row : h)
      for (auto& v : row) v = std::max(0.0, v);
    return linear(h, prefix + "wo.weight", D, FF);
  }
  static void add(Mat& a, const Mat& b) {
    for (std::size_t i = 0; i < a.size(); ++i)
      for (std::size_t j = 0; j < a[i].size(); ++j) a[i][j] += b[i][j];
  }
  Mat embed(const std::vector<std::int64_t>& ids) const {
    Mat x;
    for (auto id : ids) x.emplace_back(get("shared.weight").begin() + id * D, get("shared.weight").begin() + (id + 1) * D);
    return x;
  }
  // Logits [decoder positions][V] for one (unpadded) input.
  Mat logits(const std::vector<std::int64_t>& input, const std::vector<std::int64_t>& decoder_ids) const {
    Mat h = embed(input);
    const std::string enc_bias = "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight";
    for (int l = 0; l < LAYERS; ++l) {
      const std::string b = "encoder.block." + std::to_string(l) + ".layer.";
      add(h, attention(rms(h, b + "0.layer_norm.weight"), rms(h, b + "0.layer_norm.weight"), b + "0.SelfAttention.",
                       &enc_bias, true, [](std::size_t, std::size_t) { return true; }));
      add(h, ff(rms(h, b + "1.layer_norm.weight"), b + "1.DenseReluDense."));
    }
    const Mat enc = rms(h, "encoder.final_layer_norm.weight");
    Mat g = embed(decoder_ids);
    const std::string dec_bias = "decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight";
    for (int l = 0; l < LAYERS; ++l) {
      const std::string b = "decoder.block." + std::to_string(l) + ".layer.";
      const Mat n0 = rms(g, b + "0.layer_norm.weight");
      add(g, attention(n0, n0, b + "0.SelfAttention.", &dec_bias, false, [](std::size_t i, std::size_t j) { return j <= i; }));
      add(g, attention(rms(g, b + "1.layer_norm.weight"), enc, b + "1.EncDecAttention.", nullptr, false,
                       [](std::size_t, std::size_t) { return true; }));
      add(g, ff(rms(g, b + "2.layer_norm.weight"), b + "2.DenseReluDense."));
    }
    Mat out = rms(g, "decoder.final_layer_norm.weight");
    if (rescale)
      for (auto& row : out)
        for (auto& v : row) v *= std::pow(double(D), -0.5);
    Mat logits(out.size(), std::vector<double>(V, 0.0));
    const auto& e = get("shared.weight");
    for (std::size_t t = 0; t < out.size(); ++t)
      for (int tok = 0; tok < V; ++tok)
        for (int d = 0; d < D; ++d) logits[t][tok] += out[t][d] * e[tok * D + d];
    return logits;
  }
};

// A T5 v1.0-style folder: relu, tied head, and (unless `scale_key` says otherwise) no
// scale_decoder_outputs key, so the rescale follows tie_word_embeddings (default true).
fs::path write_model(const fs::path& dir, const Weights& w, const char* scale_key) {
  nlohmann::json config = {{"model_type", "t5"},        {"vocab_size", V},     {"d_model", D},
                           {"d_kv", DKV},               {"d_ff", FF},          {"num_heads", H},
                           {"num_layers", LAYERS},      {"feed_forward_proj", "relu"},
                           {"relative_attention_num_buckets", BUCKETS},
                           {"relative_attention_max_distance", MAXDIST},
                           {"layer_norm_epsilon", EPS}, {"decoder_start_token_id", 0},
                           {"eos_token_id", 1},         {"pad_token_id", 0}};
  if (scale_key != nullptr) config["scale_decoder_outputs"] = std::string(scale_key) == "true";
  fs::create_directories(dir);
  recap::io::write_json(dir / "config.json", config);
  write_safetensors(dir / "model.safetensors", w);
  return dir;
}

recap::models::T5LoadOptions no_tokenizer() {
  recap::models::T5LoadOptions o;
  o.load_tokenizer = false;
  o.threads = 1;
  return o;
}

const std::vector<std::vector<std::int64_t>> kInputs = {{5, 9, 3, 17, 22, 1}, {7, 7, 12, 1}};

class T5Definition : public ::testing::Test {
 protected:
  void SetUp() override {
    // Seed 3: weights under which some beam hypotheses end with </s> before the length
    // limit, so the scores of finished hypotheses are exercised too.
    weights = random_weights(3);
    model.emplace(T5Model::load(write_model(dir / "v1", weights, nullptr), no_tokenizer()));
  }
  recap::test::TempDir dir;
  Weights weights;
  std::optional<T5Model> model;
};

}  // namespace

TEST_F(T5Definition, ReluTiedRescaledLogitsMatchTheDefinition) {
  EXPECT_TRUE(model->info().scale_decoder_outputs);  // no key: follows tie_word_embeddings
  EXPECT_FALSE(model->info().own_lm_head);
  EXPECT_EQ(model->info().feed_forward, "relu");
  IdRows mask;
  const IdRows ids = IdRows::from_lists(kInputs, 0, &mask);
  const IdRows dec = IdRows::from_lists({{0, 4, 8, 15, 2, 6}, {0, 11, 3, 3, 9, 20}});
  const auto got = model->logits(ids, &mask, dec);
  const Reference ref{weights, true};
  double worst = 0;
  for (std::size_t r = 0; r < kInputs.size(); ++r) {
    const std::vector<std::int64_t> d(dec.row(r), dec.row(r) + dec.cols);
    const Mat want = ref.logits(kInputs[r], d);
    for (std::int64_t t = 0; t < dec.cols; ++t)
      for (int v = 0; v < V; ++v) worst = std::max(worst, std::fabs(got[(r * dec.cols + t) * V + v] - want[t][v]));
  }
  EXPECT_LE(worst, 1e-4);
  std::printf("[ relu v1.0 ] logits max abs diff vs definition %.3g\n", worst);
}

TEST_F(T5Definition, RescaleKeyFalseLeavesTheHeadUnscaled) {
  const auto plain = T5Model::load(write_model(dir / "noscale", weights, "false"), no_tokenizer());
  EXPECT_FALSE(plain.info().scale_decoder_outputs);
  const IdRows ids = IdRows::from_lists({kInputs[0]});
  const IdRows dec = IdRows::from_lists({{0, 4, 8}});
  const auto got = plain.logits(ids, nullptr, dec);
  const Mat want = Reference{weights, false}.logits(kInputs[0], {0, 4, 8});
  for (int t = 0; t < 3; ++t)
    for (int v = 0; v < V; ++v) EXPECT_NEAR(got[t * V + v], want[t][v], 1e-4);
}

TEST_F(T5Definition, GreedyFollowsTheReferenceArgmax) {
  const Reference ref{weights, true};
  IdRows mask;
  const IdRows ids = IdRows::from_lists(kInputs, 0, &mask);
  GenerationOptions o;
  o.max_new_tokens = 6;
  const auto got = model->generate(ids, &mask, o);
  for (std::size_t r = 0; r < kInputs.size(); ++r) {
    std::vector<std::int64_t> seq{0};
    for (int step = 0; step < 6 && (seq.size() == 1 || seq.back() != 1); ++step) {
      const auto last = ref.logits(kInputs[r], seq).back();
      seq.push_back(std::max_element(last.begin(), last.end()) - last.begin());
    }
    EXPECT_EQ(got.sequences.until_eos(static_cast<std::int64_t>(r), 1), seq) << "row " << r;
  }
}

// Every returned score is what the model's own teacher-forced log-probabilities give:
// beam: sum log p / generated_length ^ length_penalty; greedy: sum log p.
TEST_F(T5Definition, ScoresAreTeacherForcedLogProbabilities) {
  IdRows mask;
  const IdRows ids = IdRows::from_lists(kInputs, 0, &mask);
  int ended_early = 0;  // hypotheses finished by end-of-sequence, not by the length limit
  for (const double lp : {1.0, 0.0, 2.0}) {
    GenerationOptions o;
    o.decoding = Decoding::beam;
    o.num_beams = 3;
    o.num_return_sequences = 3;
    o.max_new_tokens = 7;
    o.length_penalty = lp;
    const auto out = model->generate(ids, &mask, o);
    ASSERT_EQ(out.sequences.rows, 6);
    for (std::int64_t r = 0; r < 6; ++r) {
      const auto seq = out.sequences.until_eos(r, 1);
      const IdRows one_in = IdRows::from_lists({kInputs[r / 3]});
      const IdRows dec = IdRows::from_lists({std::vector<std::int64_t>(seq.begin(), seq.end() - 1)});
      const auto logits = model->logits(one_in, nullptr, dec);
      double sum = 0;
      for (std::size_t t = 0; t + 1 < seq.size(); ++t) {
        const float* row = logits.data() + t * V;
        double z = 0, top = *std::max_element(row, row + V);
        for (int v = 0; v < V; ++v) z += std::exp(row[v] - top);
        sum += row[seq[t + 1]] - top - std::log(z);
      }
      const double generated = static_cast<double>(seq.size() - 1);
      ended_early += seq.back() == 1 && generated < 7;
      EXPECT_NEAR(out.scores[r], sum / std::pow(generated, lp), 1e-4) << "lp " << lp << " row " << r;
      if (r % 3) {
        EXPECT_GE(out.scores[r - 1], out.scores[r]);
      }
    }
  }
  EXPECT_GT(ended_early, 0) << "the scores of end-of-sequence hypotheses went untested";
}

TEST_F(T5Definition, OneBeamIsGreedyAndCacheChangesNothing) {
  IdRows mask;
  const IdRows ids = IdRows::from_lists(kInputs, 0, &mask);
  GenerationOptions greedy;
  greedy.max_new_tokens = 8;
  GenerationOptions beam1 = greedy;
  beam1.decoding = Decoding::beam;
  beam1.num_beams = 1;
  const auto a = model->generate(ids, &mask, greedy), b = model->generate(ids, &mask, beam1);
  for (std::int64_t r = 0; r < 2; ++r) EXPECT_EQ(a.sequences.until_eos(r, 1), b.sequences.until_eos(r, 1));
  GenerationOptions beam = beam1;
  beam.num_beams = 4;
  beam.num_return_sequences = 4;
  auto uncached = beam;
  uncached.use_cache = false;
  const auto c = model->generate(ids, &mask, beam), d = model->generate(ids, &mask, uncached);
  EXPECT_EQ(c.sequences.values, d.sequences.values);
  for (std::size_t i = 0; i < c.scores.size(); ++i) EXPECT_NEAR(c.scores[i], d.scores[i], 1e-5);
}

TEST_F(T5Definition, SamplingIsSeededAndTruncationsBehave) {
  IdRows mask;
  const IdRows ids = IdRows::from_lists(kInputs, 0, &mask);
  GenerationOptions s;
  s.decoding = Decoding::sample;
  s.num_return_sequences = 5;
  s.max_new_tokens = 8;
  s.temperature = 2.0;
  s.seed = 42;
  const auto a = model->generate(ids, &mask, s), b = model->generate(ids, &mask, s);
  EXPECT_EQ(a.sequences.values, b.sequences.values);  // same seed, same samples
  ASSERT_EQ(a.sequences.rows, 10);
  // Input 1 alone, with seed_offset 1, samples exactly what it sampled as row 1 of the batch.
  auto alone = s;
  alone.seed_offset = 1;
  const auto c = model->generate(IdRows::from_lists({kInputs[1]}), nullptr, alone);
  for (std::int64_t j = 0; j < 5; ++j) EXPECT_EQ(c.sequences.until_eos(j, 1), a.sequences.until_eos(5 + j, 1));
  // Per-input offsets: inputs gathered out of order sample what each samples alone.
  auto gathered = s;
  gathered.seed_offsets = {9, 1};
  const auto d = model->generate(ids, &mask, gathered);
  for (std::int64_t j = 0; j < 5; ++j) EXPECT_EQ(d.sequences.until_eos(5 + j, 1), c.sequences.until_eos(j, 1));
  auto ninth = s;
  ninth.seed_offset = 9;
  const auto e = model->generate(IdRows::from_lists({kInputs[0]}), nullptr, ninth);
  for (std::int64_t j = 0; j < 5; ++j) EXPECT_EQ(d.sequences.until_eos(j, 1), e.sequences.until_eos(j, 1));
  EXPECT_NE(d.sequences.until_eos(0, 1), a.sequences.until_eos(0, 1));  // offset 9 is not offset 0
  gathered.seed_offsets = {1};
  EXPECT_THROW(model->generate(ids, &mask, gathered), recap::UsageError);
  s.seed = 43;
  const auto other = model->generate(ids, &mask, s);
  EXPECT_NE(other.sequences.values, a.sequences.values);
  // At temperature 2 over 24 tokens, 5 samples of 8 tokens are not all the same.
  std::set<std::vector<std::int64_t>> distinct;
  for (std::int64_t j = 0; j < 5; ++j) distinct.insert(a.sequences.until_eos(j, 1));
  EXPECT_GT(distinct.size(), 1u);
  // top-k = 1 and a tiny top-p both reduce sampling to greedy.
  GenerationOptions greedy;
  greedy.max_new_tokens = 8;
  const auto g = model->generate(ids, &mask, greedy);
  for (const auto& [k, p] : std::vector<std::pair<int, double>>{{1, 1.0}, {0, 1e-6}}) {
    auto t = s;
    t.top_k = k;
    t.top_p = p;
    const auto out = model->generate(ids, &mask, t);
    for (std::int64_t r = 0; r < 10; ++r) EXPECT_EQ(out.sequences.until_eos(r, 1), g.sequences.until_eos(r / 5, 1));
  }
}

TEST_F(T5Definition, RepetitionLimitsAndMinimumLength) {
  IdRows mask;
  const IdRows ids = IdRows::from_lists(kInputs, 0, &mask);
  GenerationOptions o;
  o.max_new_tokens = 12;
  o.no_repeat_ngram_size = 2;
  o.min_new_tokens = 10;
  const auto out = model->generate(ids, &mask, o);
  for (std::int64_t r = 0; r < 2; ++r) {
    const auto seq = out.sequences.until_eos(r, 1);
    std::set<std::pair<std::int64_t, std::int64_t>> bigrams;
    for (std::size_t i = 0; i + 1 < seq.size(); ++i) EXPECT_TRUE(bigrams.insert({seq[i], seq[i + 1]}).second) << "repeated bigram";
    for (std::size_t i = 1; i < seq.size() && i <= 10; ++i) EXPECT_NE(seq[i], 1) << "eos before min_new_tokens";
  }
}

TEST_F(T5Definition, InvalidOptionsAndIdsAreRefused) {
  const IdRows ids = IdRows::from_lists({kInputs[0]});
  GenerationOptions o;
  o.decoding = Decoding::beam;
  o.num_beams = 2;
  o.num_return_sequences = 3;
  EXPECT_THROW(model->generate(ids, nullptr, o), recap::UsageError);
  GenerationOptions zero;
  zero.max_new_tokens = 0;
  EXPECT_THROW(model->generate(ids, nullptr, zero), recap::UsageError);
  EXPECT_THROW(model->generate(IdRows::from_lists({{5, 99}}), nullptr, GenerationOptions{}), recap::InputError);
  IdRows all_masked(1, 6, 0);
  EXPECT_THROW(model->generate(ids, &all_masked, GenerationOptions{}), recap::InputError);
}
