// recap-score end to end: the golden Flickr30k scores through the command line, the
// CLIP-S family from embedding files, and bad inputs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "recap/io/json_file.h"
#include "recap/io/npy.h"
#include "test_support.h"

using namespace recap;
namespace fs = std::filesystem;

namespace {

const fs::path kGolden = test::test_data_dir() / "golden/metrics/flickr30k-test";

void expect_failure(const test::ToolRun& run, int status, const std::string& fragment) {
  EXPECT_EQ(run.status, status) << run.err;
  EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << run.err;
  EXPECT_NE(run.err.find(fragment), std::string::npos) << "expected '" << fragment << "' in: " << run.err;
}

}  // namespace

TEST(RecapScore, GoldenScoresThroughTheCommandLine) {
  test::TempDir dir;
  // The golden captions are already tokenised; CoreNLP 3.4.1 would still split the one
  // "cannot" among the references ("can not"), so the exact comparison skips the PTB step
  // and a second run checks that the PTB step moves nothing else.
  auto run = test::run_tool("recap-score", "--no-tokenize --results " + (kGolden / "results.json").string() +
                                               " --refs " + (kGolden / "refs.json").string() + " --json " +
                                               (dir / "s.json").string() + " --per-image " + (dir / "p.jsonl").string());
  auto tokenised = test::run_tool("recap-score", "--results " + (kGolden / "results.json").string() + " --refs " +
                                                     (kGolden / "refs.json").string() + " --json " + (dir / "t.json").string());
  ASSERT_EQ(tokenised.status, 0) << tokenised.err;
  ASSERT_EQ(run.status, 0) << run.err;
  const auto got = io::read_json(dir / "s.json");
  const auto expected = io::read_json(kGolden / "expected.json");
  const auto through_ptb = io::read_json(dir / "t.json");
  for (auto it = expected.begin(); it != expected.end(); ++it) {
    EXPECT_NEAR(got.at(it.key()).get<double>(), it.value().get<double>(), 1e-9) << it.key();
    EXPECT_NEAR(through_ptb.at(it.key()).get<double>(), it.value().get<double>(), 2e-4) << it.key();
  }
  const auto per_image = io::read_jsonl(dir / "p.jsonl");
  ASSERT_EQ(per_image.size(), 1000u);
  double cider = 0;
  for (const auto& line : per_image) cider += line["CIDEr"].get<double>();
  EXPECT_NEAR(cider / 1000, expected["CIDEr"].get<double>(), 1e-9);
  EXPECT_NE(run.out.find("CIDEr"), std::string::npos);
}

TEST(RecapScore, BootstrapIntervalsContainTheScore) {
  test::TempDir dir;
  auto run = test::run_tool("recap-score", "--no-tokenize --results " + (kGolden / "results.json").string() + " --refs " +
                                               (kGolden / "refs.json").string() + " --bootstrap 100 --seed 1 --json " +
                                               (dir / "s.json").string());
  ASSERT_EQ(run.status, 0) << run.err;
  const auto got = io::read_json(dir / "s.json");
  for (std::string m : {"Bleu_4", "ROUGE_L", "CIDEr"}) {
    const auto ci = got.at(m + "_95ci");
    EXPECT_LT(ci[0].get<double>(), got[m].get<double>()) << m;
    EXPECT_GT(ci[1].get<double>(), got[m].get<double>()) << m;
  }
}

TEST(RecapScore, ClipFamilyFromEmbeddings) {
  test::TempDir dir;
  test::write_bytes(dir / "results.json", R"([{"image_id": 1, "caption": "a dog"}, {"image_id": 2, "caption": "a cat"}])");
  test::write_bytes(dir / "refs.json", R"({"annotations": [{"image_id": 1, "caption": "dog"}, {"image_id": "2", "caption": "cat"},
                                                          {"image_id": 2, "caption": "kitten"}]})");
  const float images[] = {1, 0, 0, 1};
  const float candidates[] = {0.6f, 0.8f, 0, 1};
  const float references[] = {0, 1, 0.6f, 0.8f, 1, 0};
  const float identity[] = {1, 0, 0, 1};
  io::write_npy(dir / "img.npy", images, {2, 2});
  io::write_npy(dir / "cand.npy", candidates, {2, 2});
  io::write_npy(dir / "refs.npy", references, {3, 2});
  io::write_npy(dir / "w.npy", identity, {2, 2});
  auto run = test::run_tool(
      "recap-score", "--results " + (dir / "results.json").string() + " --refs " + (dir / "refs.json").string() +
                         " --metrics clip-s,refclip-s,aclip-s,refaclip-s --image-embeddings " + (dir / "img.npy").string() +
                         " --candidate-embeddings " + (dir / "cand.npy").string() + " --reference-embeddings " +
                         (dir / "refs.npy").string() + " --mapping " + (dir / "w.npy").string() + " --json " +
                         (dir / "s.json").string());
  ASSERT_EQ(run.status, 0) << run.err;
  const auto s = io::read_json(dir / "s.json");
  // CLIP-S: image 1 cos 0.6 -> 1.5; image 2 cos 1 -> 2.5; mean 2.0.
  EXPECT_NEAR(s["CLIP-S"].get<double>(), 2.0, 1e-6);
  // RefCLIP-S: H(1.5, 0.8) and H(2.5, max(0.8, 0)) = H(2.5, 0.8).
  const double h1 = 2 * 1.5 * 0.8 / 2.3, h2 = 2 * 2.5 * 0.8 / 3.3;
  EXPECT_NEAR(s["RefCLIP-S"].get<double>(), (h1 + h2) / 2, 1e-6);
  EXPECT_NEAR(s["aCLIP-S"].get<double>(), s["CLIP-S"].get<double>(), 1e-9);  // W = identity
  EXPECT_NEAR(s["RefaCLIP-S"].get<double>(), s["RefCLIP-S"].get<double>(), 1e-9);
}

TEST(RecapScore, BadInputs) {
  test::TempDir dir;
  const std::string refs = " --refs " + (dir / "refs.json").string();
  test::write_bytes(dir / "refs.json", R"({"annotations": [{"image_id": 1, "caption": "a dog"}, {"image_id": 2, "caption": "a cat"}]})");
  auto score = [&](const std::string& results, const std::string& extra = "") {
    test::write_bytes(dir / "results.json", results);
    return test::run_tool("recap-score", "--results " + (dir / "results.json").string() + refs + extra);
  };
  expect_failure(score(R"([{"image_id": 3, "caption": "x"}])"), 3, "image id 3 has no references");
  expect_failure(score(R"([{"image_id": 1, "caption": "x"}, {"image_id": "1", "caption": "y"}])"), 3, "more than once");
  expect_failure(score("[{\"image_id\": 1, \"caption\": \"caf\xe9\"}]"), 3, "UTF-8");
  expect_failure(score(R"([{"image_id": 1}])"), 3, "caption");
  expect_failure(score(R"({"image_id": 1})"), 3, "COCO results");
  expect_failure(score(R"([{"image_id": 1, "caption": "a dog"}])", " --metrics bleu,sparkle"), 2, "sparkle");
  const std::string both = R"([{"image_id": 1, "caption": "a dog"}, {"image_id": 2, "caption": "a cat"}])";
  expect_failure(score(both, " --metrics clip-s"), 2, "--image-embeddings");
  // Warnings, errors with --strict: an image of the references without a result; an empty caption.
  auto partial = score(R"([{"image_id": 1, "caption": "..."}])");
  EXPECT_EQ(partial.status, 0) << partial.err;
  EXPECT_NE(partial.err.find("1 of 2 reference images have no result"), std::string::npos) << partial.err;
  EXPECT_NE(partial.err.find("1 of 1 captions are empty"), std::string::npos) << partial.err;
  expect_failure(score(R"([{"image_id": 1, "caption": "..."}])", " --strict"), 3, "--strict");
  test::write_bytes(dir / "taken.json", "mine");
  expect_failure(score(both, " --json " + (dir / "taken.json").string()), 2, "--force");
  EXPECT_EQ(test::read_bytes(dir / "taken.json"), "mine");
  // An output is never an input, even with --force, and two outputs are never one file.
  expect_failure(score(both, " --force --json " + (dir / "results.json").string()), 2, "is also an input");
  EXPECT_EQ(test::read_bytes(dir / "results.json"), both);
  expect_failure(score(both, " --json " + (dir / "s.json").string() + " --per-image " + (dir / "s.json").string()), 2,
                 "same output");
  EXPECT_FALSE(fs::exists(dir / "s.json"));
}

namespace {

// Two judged images (A, B) with five references each; the candidates are a close
// paraphrase (C.jpg#0) and an unrelated caption (D.jpg#0). Humans rate the paraphrase
// high and the other low, and every text metric ranks every paraphrase above every
// unrelated caption. Kendall tau-c then counts only those concordant pairs: 1.0 (scipy,
// m = 2, whatever ties the metric has within a level). Tau-b is 1.0 when the metric
// ties within levels and 4/sqrt(20) = 0.894 (scipy) when it separates A from B.
void write_flickr8k(const fs::path& root) {
  std::string tokens;
  const char* refs_a[] = {"a brown dog runs on the green grass", "a dog running across a lawn",
                          "the brown dog is running outside", "a dog runs through the grass", "a happy dog on grass"};
  const char* refs_b[] = {"a brown dog runs across green grass", "a dog sprints on a lawn", "brown dog running in a park",
                          "the dog runs on grass", "a dog outside on grass"};
  for (int k = 0; k < 5; ++k) tokens += "A.jpg#" + std::to_string(k) + "\t" + refs_a[k] + "\n";
  for (int k = 0; k < 5; ++k) tokens += "B.jpg#" + std::to_string(k) + "\t" + refs_b[k] + "\n";
  for (int k = 0; k < 5; ++k) tokens += "C.jpg#" + std::to_string(k) + "\ta brown dog runs on green grass\n";
  for (int k = 0; k < 5; ++k) tokens += "D.jpg#" + std::to_string(k) + "\ttwo men play chess indoors\n";
  test::write_bytes(root / "Flickr8k.token.txt", tokens);
  test::write_bytes(root / "ExpertAnnotations.txt",
                    "A.jpg\tC.jpg#0\t4\t4\t4\nA.jpg\tD.jpg#0\t1\t1\t1\nB.jpg\tC.jpg#1\t4\t4\t4\nB.jpg\tD.jpg#1\t1\t1\t1\n"
                    "A.jpg\tA.jpg#0\t4\t4\t4\n");  // a reference judged against its own image: skipped
  test::write_bytes(root / "CrowdFlowerAnnotations.txt",
                    "A.jpg\tC.jpg#0\t1.0\t3\t0\nA.jpg\tD.jpg#0\t0.0\t0\t3\nB.jpg\tC.jpg#1\t1.0\t3\t0\nB.jpg\tD.jpg#1\t0.0\t0\t3\n");
}

}  // namespace

TEST(RecapScore, CorrelateWithHumanJudgements) {
  test::TempDir dir;
  write_flickr8k(dir.path());
  for (std::string dataset : {"flickr8k-expert", "flickr8k-cf"}) {
    const auto out = dir / (dataset + ".json");
    auto run = test::run_tool("recap-score", "correlate --dataset " + dataset + " --root " + dir.path().string() +
                                                 " --json " + out.string());
    ASSERT_EQ(run.status, 0) << run.err;
    const auto json = io::read_json(out);
    EXPECT_EQ(json["judgements"], dataset == "flickr8k-expert" ? 12 : 4);
    // CIDEr is reported too, but its idf needs a corpus: in four items most shared n-grams
    // get idf 0, so it is left out of the exact check.
    EXPECT_TRUE(json["tau"].contains("CIDEr"));
    for (std::string m : {"Bleu_1", "Bleu_4", "ROUGE_L"}) {
      const double tau = json["tau"][m].get<double>();
      if (dataset == "flickr8k-expert")
        EXPECT_NEAR(tau, 1.0, 1e-12) << m;
      else
        EXPECT_TRUE(std::fabs(tau - 1.0) < 1e-12 || std::fabs(tau - 0.8944271909999159) < 1e-12) << m << " " << tau;
    }
  }
  // With a CLIP model and the images, the CLIP metrics join the table.
  fs::create_directory(dir / "images");
  const auto images = test::test_data_dir() / "golden/preprocess/images";
  fs::copy_file(images / "COCO_val2014_000000321647.jpg", dir / "images" / "A.jpg");
  fs::copy_file(images / "clipscore_image1.jpg", dir / "images" / "B.jpg");
  auto run = test::run_tool("recap-score", "correlate --dataset flickr8k-cf --root " + dir.path().string() + " --clip " +
                                               (test::test_data_dir() / "golden/clip/tiny-vit/hf").string() + " --images " +
                                               (dir / "images").string() + " --json " + (dir / "clip.json").string());
  ASSERT_EQ(run.status, 0) << run.err;
  const auto json = io::read_json(dir / "clip.json");
  // The tiny model's weights are random, so only the table's shape is checked here (the
  // CLIP-S arithmetic is tested above); null marks a metric constant over the set.
  for (std::string m : {"CLIP-S", "RefCLIP-S"}) {
    ASSERT_TRUE(json["tau"].contains(m)) << m;
    if (!json["tau"][m].is_null()) {
      EXPECT_LE(std::fabs(json["tau"][m].get<double>()), 1.0);
    }
  }
  expect_failure(test::run_tool("recap-score", "correlate --dataset flickr8k-cf --root " + dir.path().string() +
                                                   " --clip " + (test::test_data_dir() / "golden/clip/tiny-vit/hf").string() +
                                                   " --images " + dir.path().string()),
                 3, "A.jpg: image not found");
  fs::remove(dir / "CrowdFlowerAnnotations.txt");
  expect_failure(test::run_tool("recap-score", "correlate --dataset flickr8k-cf --root " + dir.path().string()), 3,
                 "CrowdFlowerAnnotations.txt");
}

namespace {

// Stands in for Java running the METEOR jar: answers each SCORE line with a statistics
// line (the number of references) and EVAL with one score per image (0.<stat>) and a
// corpus score of 0.5. Checks the protocol framing; real METEOR needs its jar.
const char* kFakeMeteor = R"(#!/bin/bash
while IFS= read -r line; do
  case "$line" in
    SCORE*) refs=$(( $(grep -o ' ||| ' <<<"$line" | wc -l) - 1 )); echo "$refs" ;;
    EVAL*) for s in $(sed 's/^EVAL//; s/ ||| / /g' <<<"$line"); do echo "0.$s"; done; echo "0.5" ;;
  esac
done
)";

}  // namespace

TEST(RecapScore, MeteorBridgeSpeaksTheJarProtocol) {
  test::TempDir dir;
  test::write_bytes(dir / "refs.json", R"({"annotations": [{"image_id": 1, "caption": "a dog"}, {"image_id": 1, "caption": "dog"},
                                                          {"image_id": 2, "caption": "a cat"}]})");
  test::write_bytes(dir / "results.json", R"([{"image_id": 1, "caption": "a dog"}, {"image_id": 2, "caption": "a cat"}])");
  test::write_bytes(dir / "meteor.jar", "not a real jar");
  test::write_bytes(dir / "java", kFakeMeteor);
  fs::permissions(dir / "java", fs::perms::owner_all);
  const std::string base = "--results " + (dir / "results.json").string() + " --refs " + (dir / "refs.json").string() +
                           " --metrics bleu,meteor --meteor-jar " + (dir / "meteor.jar").string();
  auto run = test::run_tool("recap-score", base + " --java " + (dir / "java").string() + " --json " +
                                               (dir / "s.json").string() + " --per-image " + (dir / "p.jsonl").string());
  ASSERT_EQ(run.status, 0) << run.err;
  EXPECT_NEAR(io::read_json(dir / "s.json")["METEOR"].get<double>(), 0.5, 1e-12);
  const auto per_image = io::read_jsonl(dir / "p.jsonl");
  EXPECT_NEAR(per_image[0]["METEOR"].get<double>(), 0.2, 1e-12);  // image 1 has two references
  EXPECT_NEAR(per_image[1]["METEOR"].get<double>(), 0.1, 1e-12);

  // Unavailable, with the reason: no jar, or no Java.
  auto no_jar = test::run_tool("recap-score", "--results " + (dir / "results.json").string() + " --refs " +
                                                  (dir / "refs.json").string() + " --metrics meteor,spice --json " +
                                                  (dir / "u.json").string());
  ASSERT_EQ(no_jar.status, 0) << no_jar.err;
  const auto u = io::read_json(dir / "u.json");
  EXPECT_NE(u["unavailable"]["METEOR"].get<std::string>().find("no --meteor-jar"), std::string::npos);
  EXPECT_NE(u["unavailable"]["SPICE"].get<std::string>().find("no --spice-jar"), std::string::npos);
  EXPECT_FALSE(u.contains("METEOR"));
  auto no_java = test::run_tool("recap-score", base + " --java no-such-java-binary");
  ASSERT_EQ(no_java.status, 0) << no_java.err;
  EXPECT_NE(no_java.out.find("not on PATH"), std::string::npos) << no_java.out;

  // A jar that stalls is stopped, naming the image and caption.
  test::write_bytes(dir / "stall", "#!/bin/bash\nsleep 30\n");
  fs::permissions(dir / "stall", fs::perms::owner_all);
  expect_failure(test::run_tool("recap-score", base + " --java " + (dir / "stall").string() + " --java-timeout 1"), 3,
                 "METEOR failed on image 1 (caption 'a dog'): timed out");
  // One that dies reports its last words.
  test::write_bytes(dir / "crash", "#!/bin/bash\necho 'Error: Unable to access jarfile' >&2\nexit 1\n");
  fs::permissions(dir / "crash", fs::perms::owner_all);
  expect_failure(test::run_tool("recap-score", base + " --java " + (dir / "crash").string()), 3,
                 "Unable to access jarfile");
}

TEST(RecapScore, SpiceBridgeReadsTheJarOutput) {
  test::TempDir dir;
  test::write_bytes(dir / "refs.json", R"({"annotations": [{"image_id": 1, "caption": "a dog"}, {"image_id": 2, "caption": "a cat"}]})");
  test::write_bytes(dir / "results.json", R"([{"image_id": 1, "caption": "a dog"}, {"image_id": 2, "caption": "a cat"}])");
  test::write_bytes(dir / "spice.jar", "not a real jar");
  // Stands in for Java running the SPICE jar: checks it was given the input file, then
  // writes per-image "All" F-scores where -out says.
  test::write_bytes(dir / "java", R"(#!/bin/bash
while [ $# -gt 0 ]; do
  case "$1" in -out) out="$2"; shift ;; *.json) grep -q '"test":"a dog"' "$1" || exit 3 ;; esac
  shift
done
echo '[{"image_id": "1", "scores": {"All": {"f": 0.25}}}, {"image_id": "2", "scores": {"All": {"f": 0.75}}}]' > "$out"
)");
  fs::permissions(dir / "java", fs::perms::owner_all);
  auto run = test::run_tool("recap-score", "--results " + (dir / "results.json").string() + " --refs " +
                                               (dir / "refs.json").string() + " --metrics spice --spice-jar " +
                                               (dir / "spice.jar").string() + " --java " + (dir / "java").string() +
                                               " --json " + (dir / "s.json").string());
  ASSERT_EQ(run.status, 0) << run.err;
  EXPECT_NEAR(io::read_json(dir / "s.json")["SPICE"].get<double>(), 0.5, 1e-12);
}
