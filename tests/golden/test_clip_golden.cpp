// CLIP embeddings against OpenAI's reference model (golden/clip: tiny random ViT and
// ModifiedResNet CLIPs, each stored in the layouts users download).
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "recap/common/rows.h"
#include "recap/common/error.h"
#include "recap/io/json_file.h"
#include "recap/io/npy.h"
#include "recap/io/npy_tensor.h"
#include "packed_weights.h"
#include "recap/models/clip_model.h"
#include "recap/models/model_gemm.h"
#include "test_support.h"

namespace fs = std::filesystem;
using recap::models::ClipLoadOptions;
using recap::models::ClipModel;

namespace {

fs::path golden(const std::string& model) { return recap::test::test_data_dir() / "golden/clip" / model; }

double max_abs_diff(const recap::io::FloatMatrix& a, const recap::io::FloatMatrix& b) {
  EXPECT_EQ(a.rows, b.rows);
  EXPECT_EQ(a.cols, b.cols);
  double worst = 0;
  for (std::size_t i = 0; i < a.values.size() && i < b.values.size(); ++i) {
    worst = std::max(worst, std::fabs(double(a.values[i]) - b.values[i]));
  }
  return worst;
}

recap::io::FloatMatrix logits(const ClipModel& model, recap::io::FloatMatrix img, recap::io::FloatMatrix txt) {
  recap::normalize_rows(img);
  recap::normalize_rows(txt);
  recap::io::FloatMatrix out(img.rows, txt.rows);
  for (std::int64_t i = 0; i < img.rows; ++i)
    for (std::int64_t j = 0; j < txt.rows; ++j) {
      double dot = 0;
      for (std::int64_t k = 0; k < img.cols; ++k) dot += double(img.row(i)[k]) * txt.row(j)[k];
      out.row(i)[j] = static_cast<float>(model.logit_scale() * dot);
    }
  return out;
}

// A golden model's inputs and reference embeddings (golden/clip/<name>).
struct GoldenSet {
  recap::io::FloatTensor pixels;
  std::vector<std::int64_t> id_shape;
  std::vector<std::int64_t> ids;
  recap::io::FloatMatrix image_embeds, text_embeds;
};

GoldenSet read_golden_set(const std::string& name) {
  GoldenSet g;
  g.pixels = recap::io::read_npy_float(golden(name) / "input_pixels.npy");
  g.ids = recap::io::read_npy_int64(golden(name) / "input_ids.npy", &g.id_shape);
  g.image_embeds = recap::io::read_npy_matrix(golden(name) / "image_embeds.npy");
  g.text_embeds = recap::io::read_npy_matrix(golden(name) / "text_embeds.npy");
  return g;
}

// The largest |got[row] - want[want_row]| over the row's values.
double row_diff(const recap::io::FloatMatrix& got, std::int64_t row, const recap::io::FloatMatrix& want,
                std::int64_t want_row) {
  double worst = 0;
  for (std::int64_t k = 0; k < got.cols; ++k)
    worst = std::max(worst, std::fabs(double(got.row(row)[k]) - want.row(want_row)[k]));
  return worst;
}

void check_layout(const std::string& model_name, const fs::path& weights, const ClipLoadOptions& options,
                  const std::string& expected_layout) {
  SCOPED_TRACE(weights.string());
  const ClipModel model = ClipModel::load(weights, options);
  EXPECT_EQ(model.info().layout, expected_layout);
  const auto g = read_golden_set(model_name);
  ASSERT_EQ(g.pixels.shape.size(), 4u);
  EXPECT_EQ(g.pixels.shape[2], model.info().image_resolution);
  const auto images = model.encode_images(g.pixels.values.data(), g.pixels.shape[0]);
  const auto texts = model.encode_token_ids(g.ids.data(), g.id_shape[0], g.id_shape[1]);
  const double image_diff = max_abs_diff(images, g.image_embeds);
  const double text_diff = max_abs_diff(texts, g.text_embeds);
  const double logit_diff =
      max_abs_diff(logits(model, images, texts), recap::io::read_npy_matrix(golden(model_name) / "logits_per_image.npy"));
  EXPECT_LE(image_diff, 1e-4);
  EXPECT_LE(text_diff, 1e-4);
  EXPECT_LE(logit_diff, 1e-4);
  std::printf("  %-28s %-20s image %.2e  text %.2e  logits %.2e\n", (model_name + "/" + weights.filename().string()).c_str(),
              expected_layout.c_str(), image_diff, text_diff, logit_diff);
}

ClipLoadOptions cpu_options() {
  ClipLoadOptions o;
  o.threads = 2;
  return o;
}

// A safetensors state dict cannot say how many heads the text transformer has; OpenAI's
// rule (width / 64) gives 0 for these tiny models' width 32. The TorchScript graphs of the
// same models record 4 (checked in TinyVitTorchScriptRecordsHeads), so the test says 4.
ClipLoadOptions safetensors_options() {
  ClipLoadOptions o = cpu_options();
  o.text_heads = 4;
  return o;
}

}  // namespace

TEST(ClipGolden, TinyVitHuggingFaceFolder) {
  check_layout("tiny-vit", golden("tiny-vit") / "hf", cpu_options(), "hf-folder");
}
TEST(ClipGolden, TinyVitOpenAiTorchScript) {
  check_layout("tiny-vit", golden("tiny-vit") / "openai_torchscript.pt", cpu_options(), "openai-torchscript");
}
TEST(ClipGolden, TinyVitOpenAiSafetensors) {
  check_layout("tiny-vit", golden("tiny-vit") / "openai_state_dict.safetensors", safetensors_options(), "openai-safetensors");
}
TEST(ClipGolden, TinyResNetOpenAiTorchScript) {
  check_layout("tiny-rn", golden("tiny-rn") / "openai_torchscript.pt", cpu_options(), "openai-torchscript");
}
TEST(ClipGolden, TinyResNetOpenAiSafetensors) {
  check_layout("tiny-rn", golden("tiny-rn") / "openai_state_dict.safetensors", safetensors_options(), "openai-safetensors");
}

TEST(ClipGolden, SameWeightsSameFingerprintAcrossLayouts) {
  const auto hf = ClipModel::load(golden("tiny-vit") / "hf", cpu_options());
  const auto ts = ClipModel::load(golden("tiny-vit") / "openai_torchscript.pt", cpu_options());
  const auto rn = ClipModel::load(golden("tiny-rn") / "openai_torchscript.pt", cpu_options());
  EXPECT_EQ(hf.info().fingerprint, ts.info().fingerprint);
  EXPECT_NE(hf.info().fingerprint, rn.info().fingerprint);
}

TEST(ClipGolden, RawTextThroughTokenizerGivesGoldenTextEmbeddings) {
  const auto model = ClipModel::load(golden("tiny-vit") / "hf", cpu_options());
  const auto readme = recap::io::read_json(golden("tiny-vit") / "README.json");
  const auto texts = readme["texts"].get<std::vector<std::string>>();
  std::vector<std::int64_t> id_shape;
  const auto ids = recap::io::read_npy_int64(golden("tiny-vit") / "input_ids.npy", &id_shape);
  ASSERT_EQ(id_shape[0], static_cast<std::int64_t>(texts.size()));
  for (std::size_t i = 0; i < texts.size(); ++i) {
    const auto row = model.tokenizer().tokenize(texts[i], 77);
    EXPECT_TRUE(std::equal(row.begin(), row.end(), ids.begin() + i * 77)) << texts[i];
  }
  const double diff = max_abs_diff(model.encode_texts(texts), recap::io::read_npy_matrix(golden("tiny-vit") / "text_embeds.npy"));
  EXPECT_LE(diff, 1e-4);
}

TEST(ClipGolden, TinyVitTorchScriptRecordsHeads) {
  // Loading the TorchScript without a heads hint must find 4 text heads in its graph: with
  // any other count the text embeddings would miss the golden ones by far more than 1e-4.
  ClipLoadOptions wrong = safetensors_options();
  wrong.text_heads = 2;
  const auto with_wrong_heads = ClipModel::load(golden("tiny-vit") / "openai_state_dict.safetensors", wrong);
  std::vector<std::int64_t> shape;
  const auto ids = recap::io::read_npy_int64(golden("tiny-vit") / "input_ids.npy", &shape);
  const double diff = max_abs_diff(with_wrong_heads.encode_token_ids(ids.data(), shape[0], shape[1]),
                                   recap::io::read_npy_matrix(golden("tiny-vit") / "text_embeds.npy"));
  EXPECT_GT(diff, 1e-3);
  EXPECT_NE(ClipModel::load(golden("tiny-vit") / "openai_torchscript.pt", cpu_options()).info().architecture.find("4 heads"),
            std::string::npos);
}

// Heads that do not divide the width cannot belong to these weights: a one-line input
// error naming the file, not LibTorch's "shape '[1, 5, 3, 10]' is invalid" at run time.
TEST(ClipLoad, HeadsThatDoNotDivideTheWidthAreRefused) {
  ClipLoadOptions text = safetensors_options(), vision = safetensors_options();
  text.text_heads = 3;     // text width 32
  vision.vision_heads = 5;  // vision width 64
  for (const auto* options : {&text, &vision}) {
    try {
      ClipModel::load(golden("tiny-vit") / "openai_state_dict.safetensors", *options);
      ADD_FAILURE() << "accepted heads that do not divide the width";
    } catch (const recap::InputError& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find("openai_state_dict.safetensors: "), std::string::npos) << message;
      EXPECT_NE(message.find("heads do not divide the width"), std::string::npos) << message;
    }
  }
}

// A Hugging Face config.json whose values have the wrong type is an input error naming it.
TEST(ClipLoad, ConfigValuesOfTheWrongTypeAreInputErrors) {
  recap::test::TempDir dir;
  fs::copy(golden("tiny-vit") / "hf", dir.path(), fs::copy_options::recursive);
  auto config = recap::io::read_json(dir / "config.json");
  config["text_config"]["num_attention_heads"] = "4";
  recap::io::write_json(dir / "config.json", config);
  try {
    ClipModel::load(dir.path(), cpu_options());
    ADD_FAILURE() << "a string number of heads was accepted";
  } catch (const recap::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("config.json: a config value has the wrong type"), std::string::npos) << e.what();
  }
}

TEST(ClipLoad, MissingAndUnexpectedKeysAreListedInOneError) {
  // The tiny-vit OpenAI safetensors with one tensor renamed in its JSON header: the
  // loader must name both the missing and the unexpected key.
  std::string bytes = recap::test::read_bytes(golden("tiny-vit") / "openai_state_dict.safetensors");
  const auto at = bytes.find("\"visual.ln_post.bias\"");
  ASSERT_NE(at, std::string::npos);
  bytes.replace(at, 21, "\"visual.ln_post.bjas\"");
  recap::test::TempDir dir;
  recap::test::write_bytes(dir / "renamed.safetensors", bytes);
  try {
    ClipModel::load(dir / "renamed.safetensors", safetensors_options());
    FAIL() << "no error";
  } catch (const recap::InputError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("missing visual.ln_post.bias [64]"), std::string::npos) << message;
    EXPECT_NE(message.find("unexpected visual.ln_post.bjas [64]"), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos);
  }
}

namespace {

double min_row_cosine(const recap::io::FloatMatrix& a, const recap::io::FloatMatrix& b) {
  double worst = 1;
  for (std::int64_t i = 0; i < a.rows; ++i) {
    double dot = 0, na = 0, nb = 0;
    for (std::int64_t k = 0; k < a.cols; ++k) {
      dot += double(a.row(i)[k]) * b.row(i)[k];
      na += double(a.row(i)[k]) * a.row(i)[k];
      nb += double(b.row(i)[k]) * b.row(i)[k];
    }
    worst = std::min(worst, dot / std::sqrt(na * nb));
  }
  return worst;
}

}  // namespace

// A large batch is cut into one shard per thread (ClipModel's encode_rows), a small one
// runs on all threads at once; which path runs depends on the batch's token rows. Both
// must give every row the golden embedding: the golden inputs repeated 24 times (48
// images of 17 or 5 tokens, 72 captions of up to 17) take the sharded path, and the
// golden test above the single-shard one.
TEST(ClipGolden, ShardedLargeBatchesMatchTheGoldenRowForRow) {
  constexpr int kCopies = 24;
  for (const std::string name : {"tiny-vit", "tiny-rn"}) {
    SCOPED_TRACE(name);
    const auto model = ClipModel::load(golden(name) / "openai_torchscript.pt", cpu_options());
    const auto g = read_golden_set(name);
    std::vector<float> many_pixels;
    std::vector<std::int64_t> many_ids;
    for (int c = 0; c < kCopies; ++c) {
      many_pixels.insert(many_pixels.end(), g.pixels.values.begin(), g.pixels.values.end());
      many_ids.insert(many_ids.end(), g.ids.begin(), g.ids.end());
    }
    const auto images = model.encode_images(many_pixels.data(), kCopies * g.pixels.shape[0]);
    const auto texts = model.encode_token_ids(many_ids.data(), kCopies * g.id_shape[0], g.id_shape[1]);
    double image_diff = 0, text_diff = 0;
    for (std::int64_t r = 0; r < images.rows; ++r)
      image_diff = std::max(image_diff, row_diff(images, r, g.image_embeds, r % g.image_embeds.rows));
    for (std::int64_t r = 0; r < texts.rows; ++r)
      text_diff = std::max(text_diff, row_diff(texts, r, g.text_embeds, r % g.text_embeds.rows));
    EXPECT_EQ(images.rows, kCopies * g.image_embeds.rows);
    EXPECT_EQ(texts.rows, kCopies * g.text_embeds.rows);
    EXPECT_LE(image_diff, 1e-4);
    EXPECT_LE(text_diff, 1e-4);
  }
}

// One item per call is where CLIP's dense weights get packed copies (packed_weights.h):
// after a few products of few rows each weight is read from its copy. Every row must
// still be the golden one, before the copies and after.
TEST(ClipGolden, OneItemPerCallMatchesTheGoldenOnceWeightsArePacked) {
  constexpr int kPasses = 4;  // each weight serves 2 items x 4 passes products of few rows
  for (const std::string name : {"tiny-vit", "tiny-rn"}) {
    SCOPED_TRACE(name);
    const auto model = ClipModel::load(golden(name) / "openai_torchscript.pt", cpu_options());
    const auto g = read_golden_set(name);
    const std::int64_t pixels_per_image = g.pixels.shape[1] * g.pixels.shape[2] * g.pixels.shape[3];
    double image_diff = 0, text_diff = 0;
    for (int pass = 0; pass < kPasses; ++pass) {
      for (std::int64_t i = 0; i < g.image_embeds.rows; ++i) {
        const auto one = model.encode_images(g.pixels.values.data() + i * pixels_per_image, 1);
        image_diff = std::max(image_diff, row_diff(one, 0, g.image_embeds, i));
      }
      for (std::int64_t t = 0; t < g.text_embeds.rows; ++t) {
        const auto one = model.encode_token_ids(g.ids.data() + t * g.id_shape[1], 1, g.id_shape[1]);
        text_diff = std::max(text_diff, row_diff(one, 0, g.text_embeds, t));
      }
    }
    EXPECT_LE(image_diff, 1e-4);
    EXPECT_LE(text_diff, 1e-4);
    if (recap::models::dense_products_on_onednn(/*bfloat16_weights=*/false)) {
      EXPECT_GT(recap::models::detail::packed_weights_stats().copies, 0u) << "no weight was packed";
    }
  }
}

// Calls of a few captions each run side by side, one per thread (ClipModel::
// encode_token_id_calls). Every call must come back once, with the rows it was given, in
// the order `rows` gives them, each the golden embedding and the same as that call made
// alone with encode_token_ids; and a bad id in one call is an error, not a crash. Each
// thread walks groups of calls through the layers together (32 items a group): 81 rows
// make several groups at every call size here, the last one short, and captions of
// different lengths share a group.
TEST(ClipGolden, SmallTextCallsSideBySideGiveEachCallItsOwnRows) {
  constexpr int kCopies = 27;
  for (const std::string name : {"tiny-vit", "tiny-rn"}) {
    SCOPED_TRACE(name);
    const auto model = ClipModel::load(golden(name) / "openai_torchscript.pt", cpu_options());
    const auto g = read_golden_set(name);
    const std::int64_t length = g.id_shape[1], captions = g.text_embeds.rows;
    std::vector<std::int64_t> ids;
    for (int c = 0; c < kCopies; ++c) ids.insert(ids.end(), g.ids.begin(), g.ids.end());
    std::vector<std::int64_t> rows;  // every row once, last first: positions differ from rows
    for (std::int64_t r = kCopies * captions - 1; r >= 0; --r) rows.push_back(r);
    for (const std::int64_t per_call : {1, 2, 5}) {
      SCOPED_TRACE("items per call " + std::to_string(per_call));
      std::set<std::int64_t> firsts;
      double golden_diff = 0, alone_diff = 0;
      model.encode_token_id_calls(ids.data(), length, rows, per_call, [&](std::int64_t first, const recap::io::FloatMatrix& e) {
        EXPECT_TRUE(firsts.insert(first).second) << "call at " << first << " came back twice";
        EXPECT_EQ(first % per_call, 0);
        EXPECT_EQ(e.rows, std::min<std::int64_t>(per_call, static_cast<std::int64_t>(rows.size()) - first));
        std::vector<std::int64_t> call_ids;
        for (std::int64_t k = 0; k < e.rows; ++k) {
          const std::int64_t row = rows[first + k];
          golden_diff = std::max(golden_diff, row_diff(e, k, g.text_embeds, row % captions));
          call_ids.insert(call_ids.end(), ids.begin() + row * length, ids.begin() + (row + 1) * length);
        }
        alone_diff = std::max(alone_diff, max_abs_diff(e, model.encode_token_ids(call_ids.data(), e.rows, length)));
      });
      EXPECT_EQ(static_cast<std::int64_t>(firsts.size()), (static_cast<std::int64_t>(rows.size()) + per_call - 1) / per_call);
      EXPECT_LE(golden_diff, 1e-4);
      EXPECT_EQ(alone_diff, 0.0) << "a call side by side differs from the same call alone";
    }
    ids[7 * length + 1] = 1'000'000;  // outside every vocabulary
    EXPECT_THROW(model.encode_token_id_calls(ids.data(), length, rows, 1, [](std::int64_t, const recap::io::FloatMatrix&) {}),
                 recap::InputError);
  }
}

// Small image calls walk through the layers in groups (ClipModel::encode_image_calls):
// every call must come back once, in order, with its own images' embeddings, the same bit
// for bit as that call made alone with encode_images (and the golden ones in float32).
// 81 images make several groups at each call size, the last one short. bfloat16's
// products always run on oneDNN, so the grouped path runs there whatever engine this
// CPU's float32 calibration picked.
TEST(ClipGolden, SmallImageCallsInGroupsGiveEachCallItsOwnRows) {
  constexpr std::int64_t kImages = 81;
  for (const std::string name : {"tiny-vit", "tiny-rn"}) {
    for (const auto precision : {recap::models::Precision::float32, recap::models::Precision::bfloat16}) {
      SCOPED_TRACE(name + " " + recap::models::precision_name(precision));
      ClipLoadOptions options = cpu_options();
      options.precision = precision;
      const auto model = ClipModel::load(golden(name) / "openai_torchscript.pt", options);
      const auto g = read_golden_set(name);
      const std::int64_t image_floats = g.pixels.shape[1] * g.pixels.shape[2] * g.pixels.shape[3];
      const std::int64_t golden_images = g.pixels.shape[0];
      std::vector<float> pixels;
      for (std::int64_t i = 0; i < kImages; ++i) {
        const std::int64_t source = (i * 7) % golden_images;  // neighbours differ
        pixels.insert(pixels.end(), g.pixels.values.begin() + source * image_floats,
                      g.pixels.values.begin() + (source + 1) * image_floats);
      }
      for (const std::int64_t per_call : {1, 2, 3}) {
        SCOPED_TRACE("images per call " + std::to_string(per_call));
        // Grouped wherever the products run on oneDNN on both threads, as here.
        EXPECT_EQ(model.calls_encoded_together(per_call) > 1,
                  recap::models::dense_products_on_onednn(precision == recap::models::Precision::bfloat16));
        std::int64_t expected_first = 0;
        double golden_diff = 0, alone_diff = 0;
        model.encode_image_calls(pixels.data(), kImages, per_call, [&](std::int64_t first, const recap::io::FloatMatrix& e) {
          EXPECT_EQ(first, expected_first) << "calls out of order";
          EXPECT_EQ(e.rows, std::min(per_call, kImages - first));
          expected_first = first + e.rows;
          for (std::int64_t k = 0; k < e.rows; ++k)
            golden_diff = std::max(golden_diff, row_diff(e, k, g.image_embeds, ((first + k) * 7) % golden_images));
          alone_diff = std::max(alone_diff, max_abs_diff(e, model.encode_images(pixels.data() + first * image_floats, e.rows)));
        });
        EXPECT_EQ(expected_first, kImages);
        EXPECT_EQ(alone_diff, 0.0) << "a call in a group differs from the same call alone";
        if (precision == recap::models::Precision::float32) {
          EXPECT_LE(golden_diff, 1e-4);
        }
      }
    }
  }
}

// --dtype bfloat16 on the CPU keeps 8 bits of mantissa in the matmuls (LayerNorm stays in
// float32, as OpenAI's half-precision models do): the embeddings must still point the
// same way as the float32 reference ones.
TEST(ClipGolden, BFloat16OnCpuStaysCloseToFloat32) {
  for (const std::string name : {"tiny-vit", "tiny-rn"}) {
    ClipLoadOptions options = cpu_options();
    options.precision = recap::models::Precision::bfloat16;
    const auto model = ClipModel::load(golden(name) / "openai_torchscript.pt", options);
    const auto g = read_golden_set(name);
    const double image_cos =
        min_row_cosine(model.encode_images(g.pixels.values.data(), g.pixels.shape[0]), g.image_embeds);
    const double text_cos =
        min_row_cosine(model.encode_token_ids(g.ids.data(), g.id_shape[0], g.id_shape[1]), g.text_embeds);
    EXPECT_GE(image_cos, 0.99) << name;
    EXPECT_GE(text_cos, 0.99) << name;
    EXPECT_LT(image_cos, 1.0 - 1e-9) << name << ": bfloat16 did not run (identical to float32)";
    std::printf("  %-8s bfloat16 vs float32 golden: min cosine image %.6f, text %.6f\n", name.c_str(), image_cos, text_cos);
  }
}

// The same comparisons on a GPU, where this LibTorch has CUDA and one is visible (skipped
// otherwise). Tolerances (tests/data/README.md): float32 runs with TF32 off
// (src/models/cuda_settings.h), so the CPU's max abs diff 1e-4 holds; bfloat16 and float16
// round activations as well as weights on a GPU and are held to a direction, min cosine
// 0.99 against the float32 reference, as bfloat16 is on the CPU.
namespace {

ClipLoadOptions on_cuda(ClipLoadOptions o, recap::models::Precision precision = recap::models::Precision::float32) {
  o.device = recap::models::Device::cuda;
  o.precision = precision;
  return o;
}

}  // namespace

TEST(ClipGoldenCuda, Float32MatchesTheReferenceInEveryLayout) {
  if (!recap::models::cuda_available()) GTEST_SKIP() << "no CUDA: this LibTorch is CPU-only or no GPU is visible";
  check_layout("tiny-vit", golden("tiny-vit") / "hf", on_cuda(cpu_options()), "hf-folder");
  check_layout("tiny-vit", golden("tiny-vit") / "openai_torchscript.pt", on_cuda(cpu_options()), "openai-torchscript");
  check_layout("tiny-vit", golden("tiny-vit") / "openai_state_dict.safetensors", on_cuda(safetensors_options()),
               "openai-safetensors");
  check_layout("tiny-rn", golden("tiny-rn") / "openai_torchscript.pt", on_cuda(cpu_options()), "openai-torchscript");
  check_layout("tiny-rn", golden("tiny-rn") / "openai_state_dict.safetensors", on_cuda(safetensors_options()),
               "openai-safetensors");
}

TEST(ClipGoldenCuda, HalfPrecisionsStayCloseToFloat32) {
  if (!recap::models::cuda_available()) GTEST_SKIP() << "no CUDA: this LibTorch is CPU-only or no GPU is visible";
  using recap::models::Precision;
  for (const std::string name : {"tiny-vit", "tiny-rn"}) {
    for (const auto precision : {Precision::bfloat16, Precision::float16}) {
      const auto model = ClipModel::load(golden(name) / "openai_torchscript.pt", on_cuda(cpu_options(), precision));
      const auto g = read_golden_set(name);
      const double image_cos =
          min_row_cosine(model.encode_images(g.pixels.values.data(), g.pixels.shape[0]), g.image_embeds);
      const double text_cos =
          min_row_cosine(model.encode_token_ids(g.ids.data(), g.id_shape[0], g.id_shape[1]), g.text_embeds);
      const auto what = name + " " + recap::models::precision_name(precision);
      EXPECT_GE(image_cos, 0.99) << what;
      EXPECT_GE(text_cos, 0.99) << what;
      std::printf("  %-8s %-8s on cuda vs float32 golden: min cosine image %.6f, text %.6f\n", name.c_str(),
                  recap::models::precision_name(precision).c_str(), image_cos, text_cos);
    }
  }
}

// Embeddings cached by one run are reused by another with the same fingerprint: float32
// computes the same on both devices, a GPU's bfloat16 does not compute the CPU's.
TEST(ClipGoldenCuda, FingerprintSaysWhereHalfPrecisionRan) {
  if (!recap::models::cuda_available()) GTEST_SKIP() << "no CUDA: this LibTorch is CPU-only or no GPU is visible";
  using recap::models::Precision;
  const auto path = golden("tiny-vit") / "hf";
  EXPECT_EQ(ClipModel::load(path, cpu_options()).info().fingerprint,
            ClipModel::load(path, on_cuda(cpu_options())).info().fingerprint);
  ClipLoadOptions cpu_bf16 = cpu_options();
  cpu_bf16.precision = Precision::bfloat16;
  EXPECT_NE(ClipModel::load(path, cpu_bf16).info().fingerprint,
            ClipModel::load(path, on_cuda(cpu_options(), Precision::bfloat16)).info().fingerprint);
}

TEST(ClipLoad, CudaIsAClearUsageErrorWithoutIt) {
  if (recap::models::cuda_available()) GTEST_SKIP() << "CUDA is available here";
  try {
    ClipModel::load(golden("tiny-vit") / "hf", on_cuda(cpu_options()));
    FAIL() << "--device cuda accepted without CUDA";
  } catch (const recap::UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("--device cuda"), std::string::npos) << e.what();
  }
}
