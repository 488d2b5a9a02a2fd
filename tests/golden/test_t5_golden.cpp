// T5 against Hugging Face transformers (golden/t5/tiny-gated: head tied to the shared
// embedding, no rescale; tiny-gated-untied: its own lm_head, like FLAN-T5): encoder states,
// teacher-forced logits, greedy and beam-4 generations. Also the proof that sentencepiece
// (through the shim) and LibTorch live in one process.
#include <gtest/gtest.h>

#include <cmath>

#include "recap/common/error.h"
#include "recap/io/json_file.h"
#include "recap/io/npy.h"
#include "recap/io/npy_tensor.h"
#include "recap/models/t5_model.h"
#include "test_support.h"

namespace fs = std::filesystem;
using recap::models::Decoding;
using recap::models::GenerationOptions;
using recap::models::IdRows;
using recap::models::T5Model;

namespace {

fs::path golden(const std::string& model) { return recap::test::test_data_dir() / "golden/t5" / model; }

IdRows read_ids(const fs::path& path) {
  std::vector<std::int64_t> shape;
  auto values = recap::io::read_npy_int64(path, &shape);
  IdRows rows(shape.at(0), shape.at(1));
  rows.values = std::move(values);
  return rows;
}

double max_abs_diff(const std::vector<float>& a, const recap::io::FloatMatrix& b) {
  EXPECT_EQ(a.size(), b.values.size());
  double worst = 0;
  for (std::size_t i = 0; i < a.size() && i < b.values.size(); ++i) worst = std::max(worst, std::fabs(double(a[i]) - b.values[i]));
  return worst;
}

recap::io::FloatMatrix read_floats(const fs::path& path) {
  // The golden arrays are 3-d; read them flat.
  auto tensor = recap::io::read_npy_float(path);
  recap::io::FloatMatrix m(1, static_cast<std::int64_t>(tensor.values.size()));
  m.values = std::move(tensor.values);
  return m;
}

// Generated rows compared up to and including the first end-of-sequence id.
void expect_same_generations(const IdRows& got, const nlohmann::json& expected, const std::string& what) {
  ASSERT_EQ(got.rows, static_cast<std::int64_t>(expected.size())) << what;
  for (std::int64_t r = 0; r < got.rows; ++r) {
    const auto want_full = expected[r].get<std::vector<std::int64_t>>();
    IdRows want_row(1, static_cast<std::int64_t>(want_full.size()));
    want_row.values = want_full;
    EXPECT_EQ(got.until_eos(r, 1), want_row.until_eos(0, 1)) << what << " row " << r;
  }
}

class T5Golden : public ::testing::TestWithParam<std::string> {};

}  // namespace

TEST_P(T5Golden, EncoderStatesMatch) {
  const auto model = T5Model::load(golden(GetParam()));
  const auto ids = read_ids(golden(GetParam()) / "input_ids.npy");
  const auto mask = read_ids(golden(GetParam()) / "attention_mask.npy");
  const auto states = model.encode(ids, &mask);
  const double diff = max_abs_diff(states, read_floats(golden(GetParam()) / "encoder_last_hidden_state.npy"));
  EXPECT_LE(diff, 1e-4) << GetParam();
  std::printf("[ %s ] encoder states max abs diff %.3g\n", GetParam().c_str(), diff);
}

TEST_P(T5Golden, TeacherForcedLogitsMatch) {
  const auto model = T5Model::load(golden(GetParam()));
  const auto ids = read_ids(golden(GetParam()) / "input_ids.npy");
  const auto mask = read_ids(golden(GetParam()) / "attention_mask.npy");
  const auto decoder_ids = read_ids(golden(GetParam()) / "decoder_input_ids.npy");
  const auto logits = model.logits(ids, &mask, decoder_ids);
  const double diff = max_abs_diff(logits, read_floats(golden(GetParam()) / "logits.npy"));
  EXPECT_LE(diff, 1e-4) << GetParam();
  std::printf("[ %s ] logits max abs diff %.3g\n", GetParam().c_str(), diff);
}

TEST_P(T5Golden, GreedyGenerationMatches) {
  const auto model = T5Model::load(golden(GetParam()));
  const auto g = recap::io::read_json(golden(GetParam()) / "golden.json");
  const auto ids = read_ids(golden(GetParam()) / "input_ids.npy");
  const auto mask = read_ids(golden(GetParam()) / "attention_mask.npy");
  GenerationOptions o;
  o.max_new_tokens = 16;
  for (const bool cache : {true, false}) {
    o.use_cache = cache;
    const auto out = model.generate(ids, &mask, o);
    expect_same_generations(out.sequences, g["greedy_max_new_tokens_16"], cache ? "greedy (cache)" : "greedy (no cache)");
  }
  // One input at a time, unpadded: the same ids (padding and batching change nothing).
  for (std::int64_t r = 0; r < ids.rows; ++r) {
    const auto text = g["texts"][r].get<std::string>();
    const auto one = model.generate(std::vector<std::string>{text}, o);
    IdRows want(1, 17);
    want.values = g["greedy_max_new_tokens_16"][r].get<std::vector<std::int64_t>>();
    EXPECT_EQ(one.sequences.until_eos(0, 1), want.until_eos(0, 1)) << "text " << r;
  }
}

TEST_P(T5Golden, BeamSearchMatches) {
  const auto model = T5Model::load(golden(GetParam()));
  const auto g = recap::io::read_json(golden(GetParam()) / "golden.json");
  const auto ids = read_ids(golden(GetParam()) / "input_ids.npy");
  const auto mask = read_ids(golden(GetParam()) / "attention_mask.npy");
  GenerationOptions o;
  o.decoding = Decoding::beam;
  o.num_beams = 4;
  o.num_return_sequences = 2;
  o.max_new_tokens = 16;
  o.length_penalty = 1.0;
  for (const bool cache : {true, false}) {
    o.use_cache = cache;
    const auto out = model.generate(ids, &mask, o);
    expect_same_generations(out.sequences, g["beam4_max_new_tokens_16_length_penalty_1_two_returned"],
                            cache ? "beam (cache)" : "beam (no cache)");
    ASSERT_EQ(out.scores.size(), 6u);
    for (int b = 0; b < 3; ++b) EXPECT_GE(out.scores[2 * b], out.scores[2 * b + 1]);  // best first
  }
}

// The same comparisons on a GPU, where this LibTorch has CUDA and one is visible (skipped
// otherwise). Tolerances (tests/data/README.md): float32 runs with TF32 off
// (src/models/cuda_settings.h), so states and logits keep the CPU's max abs diff 1e-4 and
// greedy and beam generations stay identical; bfloat16 and float16 are held to the
// direction of every position's logits, min cosine 0.99 against the float32 reference.
TEST_P(T5Golden, MatchesOnCuda) {
  if (!recap::models::cuda_available()) GTEST_SKIP() << "no CUDA: this LibTorch is CPU-only or no GPU is visible";
  recap::models::T5LoadOptions cuda;
  cuda.device = recap::models::Device::cuda;
  const auto model = T5Model::load(golden(GetParam()), cuda);
  const auto g = recap::io::read_json(golden(GetParam()) / "golden.json");
  const auto ids = read_ids(golden(GetParam()) / "input_ids.npy");
  const auto mask = read_ids(golden(GetParam()) / "attention_mask.npy");
  const double states = max_abs_diff(model.encode(ids, &mask), read_floats(golden(GetParam()) / "encoder_last_hidden_state.npy"));
  const double logits = max_abs_diff(model.logits(ids, &mask, read_ids(golden(GetParam()) / "decoder_input_ids.npy")),
                                     read_floats(golden(GetParam()) / "logits.npy"));
  EXPECT_LE(states, 1e-4);
  EXPECT_LE(logits, 1e-4);
  std::printf("[ %s ] on cuda: encoder states max abs diff %.3g, logits %.3g\n", GetParam().c_str(), states, logits);
  GenerationOptions o;
  o.max_new_tokens = 16;
  expect_same_generations(model.generate(ids, &mask, o).sequences, g["greedy_max_new_tokens_16"], "greedy on cuda");
  o.decoding = Decoding::beam;
  o.num_beams = 4;
  o.num_return_sequences = 2;
  expect_same_generations(model.generate(ids, &mask, o).sequences,
                          g["beam4_max_new_tokens_16_length_penalty_1_two_returned"], "beam on cuda");
}

TEST_P(T5Golden, HalfPrecisionsOnCudaStayClose) {
  if (!recap::models::cuda_available()) GTEST_SKIP() << "no CUDA: this LibTorch is CPU-only or no GPU is visible";
  const auto ids = read_ids(golden(GetParam()) / "input_ids.npy");
  const auto mask = read_ids(golden(GetParam()) / "attention_mask.npy");
  const auto decoder_ids = read_ids(golden(GetParam()) / "decoder_input_ids.npy");
  const auto want = read_floats(golden(GetParam()) / "logits.npy");
  for (const auto precision : {recap::models::Precision::bfloat16, recap::models::Precision::float16}) {
    recap::models::T5LoadOptions o;
    o.device = recap::models::Device::cuda;
    o.precision = precision;
    const auto model = T5Model::load(golden(GetParam()), o);
    const auto got = model.logits(ids, &mask, decoder_ids);
    ASSERT_EQ(got.size(), want.values.size());
    const auto vocab = static_cast<std::size_t>(model.info().vocab_size);
    double worst = 1;
    for (std::size_t row = 0; row + vocab <= got.size(); row += vocab) {
      double dot = 0, a = 0, b = 0;
      for (std::size_t j = row; j < row + vocab; ++j) {
        dot += double(got[j]) * want.values[j];
        a += double(got[j]) * got[j];
        b += double(want.values[j]) * want.values[j];
      }
      worst = std::min(worst, dot / std::sqrt(a * b));
    }
    EXPECT_GE(worst, 0.99) << GetParam() << " " << recap::models::precision_name(precision);
    std::printf("[ %s ] %s on cuda: logits min cosine %.6f\n", GetParam().c_str(),
                recap::models::precision_name(precision).c_str(), worst);
  }
}

INSTANTIATE_TEST_SUITE_P(Models, T5Golden, ::testing::Values("tiny-gated", "tiny-gated-untied"));

TEST(T5Golden, HeadAndRescaleFollowTheConfig) {
  const auto tied = T5Model::load(golden("tiny-gated"));
  EXPECT_FALSE(tied.info().own_lm_head);
  EXPECT_FALSE(tied.info().scale_decoder_outputs);
  EXPECT_EQ(tied.info().feed_forward, "gated-gelu_new");
  const auto untied = T5Model::load(golden("tiny-gated-untied"));
  EXPECT_TRUE(untied.info().own_lm_head);
  EXPECT_EQ(untied.info().decoder_layers, 3);
}

// docs/architecture.md ("sentencepiece is loaded in isolation"): linking sentencepiece next to LibTorch crashed before main. This
// program links LibTorch and tokenises through the shim in the same process, then runs the
// model on those ids.
TEST(T5Golden, SentencepieceAndLibTorchShareOneProcess) {
  const auto model = T5Model::load(golden("tiny-gated"));
  ASSERT_TRUE(model.has_tokenizer());
  const auto g = recap::io::read_json(golden("tiny-gated") / "golden.json");
  const auto text = g["tokenizer_cases"][1]["text"].get<std::string>();
  const auto ids = model.tokenizer().encode(text);
  EXPECT_EQ(ids, g["tokenizer_cases"][1]["ids"].get<std::vector<std::int64_t>>());
  const auto out = model.generate(std::vector<std::string>{text}, GenerationOptions{});
  EXPECT_EQ(out.sequences.row(0)[0], 0);
  EXPECT_FALSE(recap::text::T5Tokenizer::shim_path().empty());
}

TEST(T5Golden, BadModelFoldersAreClearErrors) {
  recap::test::TempDir dir;
  EXPECT_THROW(T5Model::load(dir / "missing"), recap::InputError);
  EXPECT_THROW(T5Model::load(dir.path()), recap::InputError);  // no config.json
  // A CLIP folder is not a T5 model.
  try {
    T5Model::load(recap::test::test_data_dir() / "golden/clip/tiny-vit/hf");
    FAIL() << "a CLIP folder loaded as T5";
  } catch (const recap::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("model_type"), std::string::npos) << e.what();
  }
  // config.json of T5 but a vocabulary that does not fit the tokenizer.
  auto config = recap::io::read_json(golden("tiny-gated") / "config.json");
  config["vocab_size"] = 400;
  fs::copy_file(golden("tiny-gated") / "spiece.model", dir / "spiece.model");
  recap::io::write_json(dir / "config.json", config);
  try {
    T5Model::load(dir.path());
    FAIL() << "vocabulary mismatch accepted";
  } catch (const recap::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("does not match its tokenizer"), std::string::npos) << e.what();
  }
  // Right config and tokenizer, weights of another shape.
  config["vocab_size"] = 600;
  config["d_model"] = 32;
  recap::io::write_json(dir / "config.json", config);
  fs::copy_file(golden("tiny-gated") / "model.safetensors", dir / "model.safetensors");
  try {
    T5Model::load(dir.path());
    FAIL() << "mismatched weights accepted";
  } catch (const recap::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("shape mismatch"), std::string::npos) << e.what();
  }
  // Sizes past any T5 (they overflowed int before), and values of the wrong type, are
  // input errors that name config.json, not LibTorch's "negative dimension".
  for (const auto& [key, value] : std::vector<std::pair<std::string, nlohmann::json>>{
           {"d_model", 1000000000000LL}, {"num_heads", -4}, {"model_type", 5}, {"relative_attention_num_buckets", "32"},
           {"pad_token_id", 1e30}}) {
    auto broken = recap::io::read_json(golden("tiny-gated") / "config.json");
    broken[key] = value;
    recap::io::write_json(dir / "config.json", broken);
    try {
      T5Model::load(dir.path());
      ADD_FAILURE() << key << " = " << value.dump() << " accepted";
    } catch (const recap::InputError& e) {
      EXPECT_NE(std::string(e.what()).find("config.json: "), std::string::npos) << e.what();
    }
  }
}

TEST(T5Golden, CudaIsAClearUsageErrorWithoutIt) {
  if (recap::models::cuda_available()) GTEST_SKIP() << "CUDA is available here";
  recap::models::T5LoadOptions o;
  o.device = recap::models::Device::cuda;
  EXPECT_THROW(T5Model::load(golden("tiny-gated"), o), recap::UsageError);
}
