// recap-embed end to end: every input mode against the golden embeddings, the cache, and
// every bad input giving a one-line error and the documented exit status.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cmath>
#include <cstdlib>

#include "recap/io/json_file.h"
#include "recap/io/npy.h"
#include "recap/io/npy_tensor.h"
#include "test_support.h"

namespace fs = std::filesystem;
using recap::test::TempDir;

namespace {

fs::path golden() { return recap::test::test_data_dir() / "golden"; }
fs::path tiny_vit() { return golden() / "clip/tiny-vit"; }

struct ToolRun {
  int status;
  std::string err;
};

ToolRun run_embed(const TempDir& dir, const std::string& args) {
  const fs::path err = dir / "stderr.txt";
  const std::string command = "RECAP_CACHE='" + (dir / "cache").string() + "' '" +
                              (recap::test::tools_dir() / "recap-embed").string() + "' --threads 2 " + args + " 2>'" +
                              err.string() + "'";
  const int raw = std::system(command.c_str());
  return {WIFEXITED(raw) ? WEXITSTATUS(raw) : -1, recap::test::read_bytes(err)};
}

double max_diff(const fs::path& a, const fs::path& b) {
  const auto x = recap::io::read_npy_matrix(a), y = recap::io::read_npy_matrix(b);
  EXPECT_EQ(x.rows, y.rows);
  EXPECT_EQ(x.cols, y.cols);
  double worst = 0;
  for (std::size_t i = 0; i < x.values.size() && i < y.values.size(); ++i) worst = std::max(worst, std::fabs(double(x.values[i]) - y.values[i]));
  return worst;
}

std::string q(const fs::path& p) { return "'" + p.string() + "'"; }

}  // namespace

TEST(RecapEmbed, PixelsTokenIdsAndTextsMatchGolden) {
  TempDir dir;
  const std::string model = "--clip " + q(tiny_vit() / "hf");
  ASSERT_EQ(run_embed(dir, model + " --pixels " + q(tiny_vit() / "input_pixels.npy") + " --out " + q(dir / "img.npy")).status, 0);
  EXPECT_LE(max_diff(dir / "img.npy", tiny_vit() / "image_embeds.npy"), 1e-4);
  ASSERT_EQ(run_embed(dir, model + " --token-ids " + q(tiny_vit() / "input_ids.npy") + " --out " + q(dir / "ids.npy")).status, 0);
  EXPECT_LE(max_diff(dir / "ids.npy", tiny_vit() / "text_embeds.npy"), 1e-4);
  const auto readme = recap::io::read_json(tiny_vit() / "README.json");
  std::string lines;
  for (const auto& t : readme["texts"]) lines += t.get<std::string>() + "\n";
  recap::test::write_bytes(dir / "captions.txt", lines);
  ASSERT_EQ(run_embed(dir, model + " --texts " + q(dir / "captions.txt") + " --out " + q(dir / "txt.npy") +
                               " --token-ids-out " + q(dir / "tok.npy")).status, 0);
  EXPECT_LE(max_diff(dir / "txt.npy", tiny_vit() / "text_embeds.npy"), 1e-4);
  std::vector<std::int64_t> shape;
  EXPECT_EQ(recap::io::read_npy_int64(dir / "tok.npy", &shape), recap::io::read_npy_int64(tiny_vit() / "input_ids.npy"));
  // A second run is served by the cache and gives the same numbers; --normalize gives unit rows.
  ASSERT_EQ(run_embed(dir, model + " --texts " + q(dir / "captions.txt") + " --out " + q(dir / "txt2.npy") + " --normalize").status, 0);
  const auto normalized = recap::io::read_npy_matrix(dir / "txt2.npy");
  const auto raw = recap::io::read_npy_matrix(dir / "txt.npy");
  for (std::int64_t i = 0; i < normalized.rows; ++i) {
    double n2 = 0, r2 = 0;
    for (std::int64_t j = 0; j < normalized.cols; ++j) n2 += double(normalized.row(i)[j]) * normalized.row(i)[j], r2 += double(raw.row(i)[j]) * raw.row(i)[j];
    EXPECT_NEAR(n2, 1.0, 1e-5);
    EXPECT_NEAR(normalized.row(i)[0], raw.row(i)[0] / std::sqrt(r2), 1e-6);
  }
}

TEST(RecapEmbed, ImagesFolderSkipsBrokenFilesAndResumesFromCache) {
  TempDir dir;
  fs::create_directories(dir / "imgs");
  for (const char* name : {"COCO_val2014_000000321647.jpg", "synthetic_rgba.png", "synthetic_gray_wide.jpg"}) {
    fs::copy_file(golden() / "preprocess/images" / name, dir / "imgs" / name);
  }
  const std::string jpeg = recap::test::read_bytes(dir / "imgs/COCO_val2014_000000321647.jpg");
  recap::test::write_bytes(dir / "imgs/broken.jpg", jpeg.substr(0, jpeg.size() / 3));
  const std::string model = "--clip " + q(tiny_vit() / "hf");
  const std::string base = model + " --images " + q(dir / "imgs") + " --batch-size 2";
  ToolRun r = run_embed(dir, base + " --out " + q(dir / "e.npy") + " --ids-out " + q(dir / "ids.json") + " --pixels-out " + q(dir / "p.npy"));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("broken.jpg: truncated JPEG"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("1 file(s) skipped"), std::string::npos) << r.err;
  const auto ids = recap::io::read_json(dir / "ids.json");
  ASSERT_EQ(ids.size(), 3u);
  EXPECT_EQ(ids[0], "COCO_val2014_000000321647.jpg");
  std::vector<std::int64_t> shape;
  EXPECT_EQ(recap::io::read_npy_matrix(dir / "e.npy").rows, 3);
  // The same images through --pixels give the same rows (preprocessing happens once, in C++).
  ASSERT_EQ(run_embed(dir, model + " --pixels " + q(dir / "p.npy") + " --out " + q(dir / "e2.npy")).status, 0);
  EXPECT_LE(max_diff(dir / "e.npy", dir / "e2.npy"), 1e-6);
  // Resumed: all three come from the cache.
  r = run_embed(dir, base + " -v --out " + q(dir / "e3.npy"));
  ASSERT_EQ(r.status, 0);
  EXPECT_NE(r.err.find("3 embedding(s) from the cache"), std::string::npos) << r.err;
  EXPECT_EQ(max_diff(dir / "e.npy", dir / "e3.npy"), 0.0);
  // --strict turns the skip into an error (exit 3), and no output appears.
  r = run_embed(dir, base + " --strict --no-cache --out " + q(dir / "strict.npy"));
  EXPECT_EQ(r.status, 3);
  EXPECT_NE(r.err.find("truncated JPEG"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir / "strict.npy"));
}

// A decompression bomb (a small JPEG declaring 40000 x 40000 pixels) is skipped like an
// unreadable image, from its header, without the gigabytes its pixels would take; with
// --strict it fails the run. --max-image-pixels sets the limit.
TEST(RecapEmbed, ImagesOverThePixelLimitAreSkippedFromTheirHeader) {
  TempDir dir;
  fs::create_directories(dir / "imgs");
  fs::copy_file(golden() / "preprocess/images/synthetic_exif_rotate90.jpg", dir / "imgs/ok.jpg");  // 320 x 240
  std::string bomb = recap::test::read_bytes(golden() / "preprocess/images/synthetic_gray_wide.jpg");
  const auto sof = bomb.find("\xFF\xC0");
  ASSERT_NE(sof, std::string::npos);
  bomb.replace(sof + 5, 4, "\x9C\x40\x9C\x40");  // height, width = 40000
  recap::test::write_bytes(dir / "imgs/bomb.jpg", bomb);
  const std::string base = "--clip " + q(tiny_vit() / "hf") + " --images " + q(dir / "imgs") + " --no-cache";
  ToolRun r = run_embed(dir, base + " --out " + q(dir / "e.npy"));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("bomb.jpg: image declares 40000 x 40000 pixels"), std::string::npos) << r.err;
  EXPECT_EQ(recap::io::read_npy_matrix(dir / "e.npy").rows, 1);
  r = run_embed(dir, base + " --strict --out " + q(dir / "strict.npy"));
  EXPECT_EQ(r.status, 3) << r.err;
  EXPECT_FALSE(fs::exists(dir / "strict.npy"));
  r = run_embed(dir, base + " --max-image-pixels 76799 --out " + q(dir / "none.npy"));
  EXPECT_NE(r.err.find("ok.jpg: image declares 320 x 240 pixels, more than the limit of 76799"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir / "none.npy"));
}

TEST(RecapEmbed, BadInputsAreOneLineErrors) {
  TempDir dir;
  const std::string model = "--clip " + q(tiny_vit() / "hf");
  auto expect = [&](const std::string& args, int status, const std::string& needle) {
    const ToolRun r = run_embed(dir, args);
    EXPECT_EQ(r.status, status) << args << "\n" << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << args << "\n" << r.err;
    // The error is one line, the last one (progress lines may precede it).
    const auto at = r.err.rfind("recap-embed: error: ");
    ASSERT_NE(at, std::string::npos) << r.err;
    EXPECT_EQ(r.err.find('\n', at), r.err.size() - 1) << r.err;
  };
  // A NaN pixel would make a NaN embedding.
  auto pixels = recap::io::read_npy_float(tiny_vit() / "input_pixels.npy");
  pixels.values[pixels.values.size() - 5] = std::nanf("");
  recap::io::write_npy(dir / "nan_pixels.npy", pixels.values.data(), pixels.shape);
  expect(model + " --pixels " + q(dir / "nan_pixels.npy") + " --out " + q(dir / "o.npy"), 3, "contains NaN");
  // An output is never an input, even with --force.
  recap::test::write_bytes(dir / "captions.txt", "a dog\n");
  expect(model + " --texts " + q(dir / "captions.txt") + " --force --out " + q(dir / "captions.txt"), 2, "is also an input");
  EXPECT_EQ(recap::test::read_bytes(dir / "captions.txt"), "a dog\n");
  recap::test::write_bytes(dir / "caps.txt", "a dog\n\nmore\n");
  expect(model + " --texts " + q(dir / "caps.txt") + " --out " + q(dir / "o.npy"), 3, "caps.txt:2: empty caption");
  recap::test::write_bytes(dir / "bad.txt", "caf\xc3\n");
  expect(model + " --texts " + q(dir / "bad.txt") + " --out " + q(dir / "o.npy"), 3, "bad.txt:1: not valid UTF-8");
  expect(model + " --pixels " + q(golden() / "clip/tiny-rn/input_pixels.npy") + " --out " + q(dir / "o.npy"), 3,
         "expected shape (N, 3, 32, 32)");
  std::vector<std::int64_t> ids(2 * 77, 5);
  ids[3] = 999999;
  recap::io::write_npy(dir / "ids.npy", ids.data(), {2, 77});
  expect(model + " --token-ids " + q(dir / "ids.npy") + " --out " + q(dir / "o.npy"), 3, "outside the vocabulary");
  // Rows are encoded sorted by length; the error still names the row of the file (1 here,
  // the longest row, which the sorted batch holds last).
  std::vector<std::int64_t> sorted_ids(3 * 77, 0);
  for (int row = 0; row < 3; ++row) std::fill_n(sorted_ids.begin() + row * 77, 20, 5);
  sorted_ids[0 * 77 + 10] = 49407;
  sorted_ids[1 * 77 + 19] = 999999;
  sorted_ids[2 * 77 + 3] = 49407;
  recap::io::write_npy(dir / "sorted_ids.npy", sorted_ids.data(), {3, 77});
  expect(model + " --token-ids " + q(dir / "sorted_ids.npy") + " --out " + q(dir / "o.npy"), 3,
         "token id 999999 at row 1 is outside the vocabulary");
  recap::test::write_bytes(dir / "cut.npy", recap::test::read_bytes(tiny_vit() / "input_ids.npy").substr(0, 300));
  expect(model + " --token-ids " + q(dir / "cut.npy") + " --out " + q(dir / "o.npy"), 3, "truncated");
  expect("--clip " + q(dir.path()) + " --texts " + q(dir / "caps.txt") + " --out " + q(dir / "o.npy"), 3, "no config.json");
  recap::test::write_bytes(dir / "weights.bin", "garbage");
  expect("--clip " + q(dir / "weights.bin") + " --texts " + q(dir / "caps.txt") + " --out " + q(dir / "o.npy"), 3,
         "unknown model format");
  expect(model + " --device cuda --texts " + q(dir / "caps.txt") + " --out " + q(dir / "o.npy"), 2, "--device cuda");
  expect(model + " --dtype float16 --texts " + q(dir / "caps.txt") + " --out " + q(dir / "o.npy"), 2, "float16 needs");
  expect(model + " --texts " + q(dir / "caps.txt") + " --pixels " + q(dir / "ids.npy") + " --out " + q(dir / "o.npy"), 2, "");
  recap::test::write_bytes(dir / "exists.npy", "x");
  expect(model + " --token-ids " + q(tiny_vit() / "input_ids.npy") + " --out " + q(dir / "exists.npy"), 2, "exists");
  // The OpenAI safetensors of a width-32 text tower cannot say its heads.
  expect("--clip " + q(tiny_vit() / "openai_state_dict.safetensors") + " --texts " + q(dir / "caps.txt") + " --out " +
             q(dir / "o.npy"), 3, "cannot infer the text attention heads");
  expect(model + " --images " + q(dir / "none") + " --out " + q(dir / "o.npy"), 3, "no such folder or list file");
  EXPECT_FALSE(fs::exists(dir / "o.npy"));
}

// A mistyped engine override is a usage error when the first product needs it, not a
// silent fall back to the measured choice.
TEST(RecapEmbed, AnUnknownModelGemmEngineIsAUsageError) {
  TempDir dir;
  const auto r = recap::test::run_command("RECAP_MODEL_GEMM=mkl RECAP_CACHE=" + q(dir / "cache") + " " +
                                          q(recap::test::tools_dir() / "recap-embed") + " --clip " + q(tiny_vit() / "hf") +
                                          " --token-ids " + q(tiny_vit() / "input_ids.npy") + " --out " + q(dir / "o.npy"));
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_NE(r.err.find("RECAP_MODEL_GEMM must be openblas or onednn, got \"mkl\""), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir / "o.npy"));
}

// The product engine is measured for the command's --threads, wherever its first product
// runs: sharded text encoding runs it on a worker of a one-thread team, and a choice
// keyed by that thread's count made a resumed recap-dal score with another engine than
// the run it resumed (last digits apart). Both runs below must find one entry.
TEST(RecapEmbed, TheProductEngineIsChosenForTheCommandsThreads) {
  TempDir dir;
  std::string lines;
  for (int i = 0; i < 12; ++i) lines += "caption number " + std::to_string(i) + " of a dozen\n";
  recap::test::write_bytes(dir / "captions.txt", lines);
  const std::string model = "--clip " + q(tiny_vit() / "hf");
  ASSERT_EQ(run_embed(dir, model + " --texts " + q(dir / "captions.txt") + " --no-cache --out " + q(dir / "t.npy")).status, 0);
  ASSERT_EQ(run_embed(dir, model + " --token-ids " + q(tiny_vit() / "input_ids.npy") + " --out " + q(dir / "i.npy")).status, 0);
  const auto choices = recap::io::read_json(dir / "cache" / "model-gemm.json");
  ASSERT_EQ(choices.size(), 1u) << choices.dump(2);
  EXPECT_NE(choices.begin().key().find("| threads=2 |"), std::string::npos) << choices.begin().key();
}
