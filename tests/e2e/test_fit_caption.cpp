// Whole command-line runs of recap-synth -> recap-fit -> recap-caption, and the bad
// inputs users hit: every failure is one line on stderr, a documented exit status, and
// no output left behind.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>

#include "recap/io/json_file.h"
#include "recap/io/npy.h"
#include "synthetic_world.h"
#include "test_support.h"

using namespace recap;
namespace fs = std::filesystem;

namespace {

std::size_t line_count(const std::string& text) { return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')); }

// Expects a failed run: the status, a single "tool: error: ..." line mentioning `fragment`.
void expect_failure(const test::ToolRun& run, int status, const std::string& fragment) {
  EXPECT_EQ(run.status, status) << run.err;
  EXPECT_EQ(line_count(run.err), 1u) << run.err;
  EXPECT_NE(run.err.find(": error: "), std::string::npos) << run.err;
  EXPECT_NE(run.err.find(fragment), std::string::npos) << "expected '" << fragment << "' in: " << run.err;
}

class FitCaption : public test::SyntheticWorld {
 protected:
  static fs::path path(const std::string& name) { return *world_ / name; }
};

}  // namespace

TEST_F(FitCaption, PipelineRetrievesCaptionsOfTheQueryConcept) {
  auto fit = test::run_tool("recap-fit", fit_args(path("run").string()) + " --method procrustes");
  ASSERT_EQ(fit.status, 0) << fit.err;
  for (auto f : {"run.json", "mapping.npy", "mapping.json", "datastore/captions.jsonl", "datastore/embeddings.npy"})
    EXPECT_TRUE(fs::exists(path("run") / f)) << f;
  auto w = io::read_npy_matrix(path("run") / "mapping.npy");
  EXPECT_EQ(w.rows, 32);
  EXPECT_EQ(w.cols, 32);
  auto mapping = io::read_json(path("run") / "mapping.json");
  EXPECT_EQ(mapping["method"], "procrustes");
  EXPECT_EQ(mapping["pairs"], 2000);

  auto cap = test::run_tool("recap-caption", "--run " + path("run").string() + " --image-embeddings " +
                                                 syn("queries.npy").string() + " --ids " + syn("query_ids.json").string() +
                                                 " --k 5 --out " + path("results.json").string() + " --details " +
                                                 path("details.jsonl").string());
  ASSERT_EQ(cap.status, 0) << cap.err;
  auto results = io::read_json(path("results.json"));
  auto refs = io::read_json(syn("query_refs.json"));
  auto details = io::read_jsonl(path("details.jsonl"));
  ASSERT_EQ(results.size(), 60u);
  ASSERT_EQ(details.size(), 60u);
  // The synthetic answer is known: count queries whose caption is a wording of their concept.
  int correct = 0;
  for (std::size_t q = 0; q < 60; ++q) {
    EXPECT_EQ(results[q]["image_id"], q);
    const std::string caption = results[q]["caption"];
    for (std::size_t v = 0; v < 5; ++v) correct += refs["annotations"][5 * q + v]["caption"] == caption;
    ASSERT_EQ(details[q]["retrieved"].size(), 5u);
    EXPECT_EQ(details[q]["retrieved"][0]["caption"], caption);
    EXPECT_GE(details[q]["retrieved"][0]["similarity"].get<double>(), details[q]["retrieved"][4]["similarity"].get<double>());
  }
  EXPECT_GE(correct, 50) << "queries captioned with their own concept";
}

TEST_F(FitCaption, EveryMethodRuns) {
  for (std::string method : {"ols", "ridge --lambda 0.5"}) {
    const auto out = path("run-" + method.substr(0, 3));
    auto fit = test::run_tool("recap-fit", fit_args(out.string()) + " --method " + method);
    EXPECT_EQ(fit.status, 0) << method << ": " << fit.err;
    EXPECT_NE(fit.out.find("residual"), std::string::npos);
  }
}

TEST_F(FitCaption, ExistingRunNeedsForce) {
  auto first = test::run_tool("recap-fit", fit_args(path("run-force").string()));
  ASSERT_EQ(first.status, 0) << first.err;
  test::write_bytes(path("run-force") / "mine.txt", "user file");
  expect_failure(test::run_tool("recap-fit", fit_args(path("run-force").string())), 2, "--force");
  EXPECT_TRUE(fs::exists(path("run-force") / "mine.txt"));
  // --force replaces only what recap-fit wrote: a user's file inside the run, a plain
  // directory or a regular file at --out are refused and left as they are.
  expect_failure(test::run_tool("recap-fit", fit_args(path("run-force").string()) + " --force"), 2, "mine.txt");
  EXPECT_EQ(test::read_bytes(path("run-force") / "mine.txt"), "user file");
  fs::create_directories(path("plain") / "sub");
  test::write_bytes(path("plain") / "sub" / "data.txt", "user file");
  expect_failure(test::run_tool("recap-fit", fit_args(path("plain").string()) + " --force"), 2, "did not write");
  EXPECT_EQ(test::read_bytes(path("plain") / "sub" / "data.txt"), "user file");
  test::write_bytes(path("a-file"), "user file");
  expect_failure(test::run_tool("recap-fit", fit_args(path("a-file").string()) + " --force"), 2, "not a directory");
  EXPECT_EQ(test::read_bytes(path("a-file")), "user file");

  fs::remove(path("run-force") / "mine.txt");
  auto forced = test::run_tool("recap-fit", fit_args(path("run-force").string()) + " --force");
  EXPECT_EQ(forced.status, 0) << forced.err;
  EXPECT_TRUE(fs::exists(path("run-force") / "mapping.npy"));
}

TEST_F(FitCaption, BadFitInputs) {
  test::TempDir bad;
  io::FloatMatrix x = test::random_normal(10, 32, 1), y16 = test::random_normal(10, 16, 2);
  io::write_npy(bad / "x.npy", x);
  io::write_npy(bad / "y16.npy", y16);
  io::FloatMatrix nan = x;
  nan.row(4)[3] = std::nanf("");
  io::write_npy(bad / "nan.npy", nan);
  io::FloatMatrix zero = x;
  std::fill(zero.row(6), zero.row(6) + zero.cols, 0.0f);
  io::write_npy(bad / "zero.npy", zero);
  const std::string bytes = test::read_bytes(bad / "x.npy");
  test::write_bytes(bad / "truncated.npy", bytes.substr(0, bytes.size() - 100));
  test::write_bytes(bad / "empty.npy", "");
  const std::int64_t ints[] = {1, 2, 3};
  io::write_npy(bad / "ints.npy", ints, {3, 1});
  const std::int64_t pairs[] = {0, 0, 10, 1};
  io::write_npy(bad / "pairs.npy", pairs, {2, 2});
  test::write_bytes(bad / "captions.txt", "one\ntwo\n");
  const std::string out = (bad / "run").string();
  auto fit = [&](const std::string& args) { return test::run_tool("recap-fit", args + " --out " + out); };
  const std::string x_arg = "--image-embeddings " + (bad / "x.npy").string();

  // Procrustes and least squares both reject W of mismatched rows; here X has 10 rows, Y 400*5.
  expect_failure(fit(x_arg + " --text-embeddings " + syn("text_embeddings.npy").string()), 3, "rows");
  expect_failure(fit(x_arg + " --text-embeddings " + (bad / "nan.npy").string()), 3, "row 4 contains NaN");
  expect_failure(fit(x_arg + " --text-embeddings " + (bad / "zero.npy").string()), 3, "row 6 is all zeros");
  expect_failure(fit(x_arg + " --text-embeddings " + (bad / "truncated.npy").string()), 3, "truncated");
  expect_failure(fit(x_arg + " --text-embeddings " + (bad / "empty.npy").string()), 3, "empty");
  expect_failure(fit(x_arg + " --text-embeddings " + (bad / "ints.npy").string()), 3, "float32");
  expect_failure(fit(x_arg + " --text-embeddings " + (bad / "y16.npy").string() + " --pairs " + (bad / "pairs.npy").string()),
                 3, "image row 10");
  expect_failure(fit(x_arg + " --text-embeddings " + (bad / "y16.npy").string() + " --captions " + (bad / "captions.txt").string()),
                 3, "2 captions");
  expect_failure(fit(x_arg + " --text-embeddings " + (bad / "y16.npy").string() + " --method ridge"), 2, "--lambda");
  expect_failure(fit(x_arg + " --text-embeddings " + (bad / "y16.npy").string() + " --method ols"), 3, "ridge");
  expect_failure(fit(x_arg + " --text-embeddings " + (bad / "absent.npy").string()), 2, "absent.npy");
  expect_failure(fit(x_arg + " --text-embeddings " + (bad / "y16.npy").string() + " --method magic"), 2, "magic");
  EXPECT_FALSE(fs::exists(bad / "run"));
  auto unwritable = test::run_tool("recap-fit", x_arg + " --text-embeddings " + (bad / "y16.npy").string() +
                                                    " --out /proc/recap-run");
  expect_failure(unwritable, 2, "/proc/recap-run");
  // Nothing but the inputs is left in the directory: no temporary or partial files.
  std::size_t entries = 0;
  for ([[maybe_unused]] auto& e : fs::directory_iterator(bad.path())) ++entries;
  EXPECT_EQ(entries, 9u);
}

TEST_F(FitCaption, BadCaptionInputs) {
  auto fit = test::run_tool("recap-fit", fit_args(path("run-bad").string()));
  ASSERT_EQ(fit.status, 0) << fit.err;
  test::TempDir bad;
  io::FloatMatrix wrong_dim = test::random_normal(3, 16, 4);
  io::write_npy(bad / "q16.npy", wrong_dim);
  test::write_bytes(bad / "ids2.json", "[1, 2]");
  test::write_bytes(bad / "dup.json", std::string("[") + "1, 1" + std::string(58, ' ') + "]");
  const std::string run = " --run " + path("run-bad").string();
  const std::string queries = " --image-embeddings " + syn("queries.npy").string();
  const std::string out = " --out " + (bad / "results.json").string();
  auto caption = [&](const std::string& args) { return test::run_tool("recap-caption", args); };

  expect_failure(caption(run + " --image-embeddings " + (bad / "q16.npy").string() + out), 3, "dimension 16");
  // A query of zeros has no direction (it would "retrieve" row 0); no rows at all is no run.
  io::FloatMatrix zero_query = io::read_npy_matrix(syn("queries.npy"));
  std::fill(zero_query.row(2), zero_query.row(2) + zero_query.cols, 0.0f);
  io::write_npy(bad / "zero.npy", zero_query);
  expect_failure(caption(run + " --image-embeddings " + (bad / "zero.npy").string() + out), 3, "row 2 is all zeros");
  io::write_npy(bad / "none.npy", zero_query.data(), {0, zero_query.cols});
  expect_failure(caption(run + " --image-embeddings " + (bad / "none.npy").string() + out), 3, "none.npy: has no rows");
  EXPECT_FALSE(fs::exists(bad / "results.json.partial.jsonl"));
  // Outputs never overwrite an input (--force or not) nor each other.
  const std::string queries_before = test::read_bytes(syn("queries.npy"));
  expect_failure(caption(run + queries + " --force --out " + syn("queries.npy").string()), 2, "is also an input");
  EXPECT_EQ(test::read_bytes(syn("queries.npy")), queries_before);
  expect_failure(caption(run + queries + " --force --out " + (path("run-bad") / "mapping.npy").string()), 2,
                 "is also an input");
  expect_failure(caption(run + queries + out + " --details " + (bad / "results.json").string()), 2, "same output");
  expect_failure(caption(run + queries + out + " --html " + (bad / "results.json").string()), 2, "same output");
  EXPECT_FALSE(fs::exists(bad / "results.json"));
  expect_failure(caption(run + queries + " --ids " + (bad / "ids2.json").string() + out), 3, "2 ids");
  expect_failure(caption(run + queries + " --k 5000" + out), 2, "larger than the datastore");
  expect_failure(caption(" --run " + bad.path().string() + queries + out), 3, "mapping");
  test::write_bytes(bad / "results.json", "precious");
  expect_failure(caption(run + queries + out), 2, "--force");
  EXPECT_EQ(test::read_bytes(bad / "results.json"), "precious");
}

// A chunk larger than the data is the data: --chunk-rows 2000000000 allocates nothing
// more than the pairs need, and gives the same W.
TEST_F(FitCaption, HugeChunkRowsIsTheWholeSet) {
  ASSERT_EQ(test::run_tool("recap-fit", fit_args(path("run-chunk-a").string())).status, 0);
  auto huge = test::run_tool("recap-fit", fit_args(path("run-chunk-b").string()) + " --chunk-rows 2000000000");
  ASSERT_EQ(huge.status, 0) << huge.err;
  const auto a = io::read_npy_matrix(path("run-chunk-a") / "mapping.npy");
  const auto b = io::read_npy_matrix(path("run-chunk-b") / "mapping.npy");
  for (std::size_t i = 0; i < a.values.size(); ++i) EXPECT_NEAR(a.values[i], b.values[i], 1e-5);
}

TEST_F(FitCaption, JsonConfigSuppliesDefaults) {
  test::TempDir dir;
  test::write_bytes(dir / "config.json", R"({"k": 3, "fit": {"method": "ridge", "lambda": 0.25}})");
  auto fit = test::run_tool("recap-fit", fit_args((dir / "run").string()) + " --config " + (dir / "config.json").string());
  ASSERT_EQ(fit.status, 0) << fit.err;
  auto mapping = io::read_json(dir / "run" / "mapping.json");
  EXPECT_EQ(mapping["method"], "ridge");
  EXPECT_EQ(mapping["lambda"], 0.25);
  // A flag on the command line wins over the file.
  auto fit2 = test::run_tool("recap-fit", fit_args((dir / "run2").string()) + " --config " +
                                              (dir / "config.json").string() + " --method ols --lambda 0");
  ASSERT_EQ(fit2.status, 0) << fit2.err;
  EXPECT_EQ(io::read_json(dir / "run2" / "mapping.json")["method"], "ols");
}

TEST_F(FitCaption, HelpDocumentsEveryOption) {
  for (std::string tool : {"recap-fit", "recap-caption", "recap-synth"}) {
    auto help = test::run_tool(tool, "--help");
    EXPECT_EQ(help.status, 0);
    EXPECT_NE(help.out.find("--threads"), std::string::npos) << tool;
    EXPECT_NE(help.out.find("--config"), std::string::npos) << tool;
  }
  expect_failure(test::run_tool("recap-fit", fit_args(path("run-flag").string()) + " --no-such-flag"), 2, "no-such-flag");
}

// A resumed run goes on only with the same content: W refitted in place, changed query
// embeddings or another --dtype are refused (naming what changed) instead of mixing
// captions of two setups; --force starts over.
TEST_F(FitCaption, ResumeIsKeyedOnContentNotPaths) {
  ASSERT_EQ(test::run_tool("recap-fit", fit_args(path("run-resume").string())).status, 0);
  test::TempDir dir;
  fs::copy_file(syn("queries.npy"), dir / "queries.npy");
  const std::string args = "--run " + path("run-resume").string() + " --image-embeddings " +
                           (dir / "queries.npy").string() + " --k 3 --batch-size 16 --out " + (dir / "r.json").string();
  auto cut = test::run_tool("recap-caption", args + " --stop-after-batches 1");
  ASSERT_EQ(cut.status, 75) << cut.err;
  ASSERT_TRUE(fs::exists(dir / "r.json.partial.jsonl"));

  expect_failure(test::run_tool("recap-caption", args + " --dtype bfloat16"), 2, "(dtype differs)");
  auto refit = test::run_tool("recap-fit", fit_args(path("run-resume").string()) + " --method ols --force");
  ASSERT_EQ(refit.status, 0) << refit.err;
  expect_failure(test::run_tool("recap-caption", args), 2, "content.mapping");
  ASSERT_EQ(test::run_tool("recap-fit", fit_args(path("run-resume").string()) + " --force").status, 0);

  // The same W again (a deterministic refit) resumes; changed queries do not.
  io::FloatMatrix queries = io::read_npy_matrix(dir / "queries.npy");
  queries.values[0] = -queries.values[0];
  io::write_npy(dir / "queries.npy", queries);
  expect_failure(test::run_tool("recap-caption", args), 2, "content.input");
  fs::copy_file(syn("queries.npy"), dir / "queries.npy", fs::copy_options::overwrite_existing);
  fs::last_write_time(dir / "queries.npy", fs::last_write_time(dir / "queries.npy") + std::chrono::seconds(1));
  expect_failure(test::run_tool("recap-caption", args), 2, "content.input");  // same bytes, other time: refused too
  auto restart = test::run_tool("recap-caption", args + " --force");
  ASSERT_EQ(restart.status, 0) << restart.err;
  EXPECT_EQ(io::read_json(dir / "r.json").size(), 60u);
}

// recap-fit reads a caption file as recap-embed does: a byte-order mark is dropped, and
// invalid UTF-8 is refused with its line (never written to the datastore as U+FFFD).
TEST_F(FitCaption, CaptionFilesAreReadAsRecapEmbedReadsThem) {
  test::TempDir dir;
  io::FloatMatrix x = test::random_normal(3, 8, 1), y = test::random_normal(3, 8, 2);
  io::write_npy(dir / "x.npy", x);
  io::write_npy(dir / "y.npy", y);
  const std::string args = "--image-embeddings " + (dir / "x.npy").string() + " --text-embeddings " +
                           (dir / "y.npy").string() + " --captions " + (dir / "c.txt").string() + " --out ";
  test::write_bytes(dir / "c.txt", "\xEF\xBB\xBF" "a dog\na cat\na bird\n");
  auto ok = test::run_tool("recap-fit", args + (dir / "run").string());
  ASSERT_EQ(ok.status, 0) << ok.err;
  EXPECT_EQ(io::read_jsonl(dir / "run" / "datastore" / "captions.jsonl")[0]["caption"], "a dog");
  test::write_bytes(dir / "c.txt", "a dog\ncaf\xE9\na bird\n");
  expect_failure(test::run_tool("recap-fit", args + (dir / "run2").string()), 3, "c.txt:2: not valid UTF-8");
  EXPECT_FALSE(fs::exists(dir / "run2"));
}

// recap-synth refuses a set the disk cannot hold before writing any of it.
TEST_F(FitCaption, SynthRefusesASetTheDiskCannotHold) {
  expect_failure(test::run_tool("recap-synth", "--images 2000000000 --out " + path("huge").string()), 2, "MiB free");
  expect_failure(test::run_tool("recap-synth", "--images 9000000000000000000 --out " + path("huge").string()), 2,
                 "64 bits");
  EXPECT_FALSE(fs::exists(path("huge")));
}

// The fit's products run on OpenBLAS or oneDNN, as measured per machine
// (linalg/float32_products.h): both give the same W to float32 accuracy, mapping.json
// says which ran, and a mistyped override is a usage error that leaves no run behind.
TEST_F(FitCaption, BothProductEnginesFitTheSameMap) {
  const std::string fit_tool = (test::tools_dir() / "recap-fit").string();
  std::vector<io::FloatMatrix> maps;
  for (const std::string engine : {"openblas", "onednn"}) {
    const auto out = path("run-engine-" + engine);
    const auto fit =
        test::run_command("RECAP_FLOAT32_GEMM=" + engine + " '" + fit_tool + "' " + fit_args(out.string()) + " -v");
    ASSERT_EQ(fit.status, 0) << fit.err;
    EXPECT_NE(fit.err.find("fit and search float32 products: "), std::string::npos) << fit.err;
    const auto mapping = io::read_json(out / "mapping.json");
    EXPECT_NE(mapping.value("float32_products", "").find("set by RECAP_FLOAT32_GEMM=" + engine), std::string::npos)
        << mapping.dump();
    maps.push_back(io::read_npy_matrix(out / "mapping.npy"));
  }
  ASSERT_EQ(maps[0].rows, maps[1].rows);
  ASSERT_EQ(maps[0].cols, maps[1].cols);
  float largest = 0;
  for (std::int64_t i = 0; i < maps[0].rows * maps[0].cols; ++i)
    largest = std::max(largest, std::abs(maps[0].data()[i] - maps[1].data()[i]));
  EXPECT_LT(largest, 1e-5f);

  const auto bad = test::run_command("RECAP_FLOAT32_GEMM=mkl '" + fit_tool + "' " + fit_args(path("run-mkl").string()));
  expect_failure(bad, 2, "RECAP_FLOAT32_GEMM must be openblas or onednn, got \"mkl\"");
  EXPECT_FALSE(fs::exists(path("run-mkl")));
}
