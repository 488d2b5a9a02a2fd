// Whole command-line runs of the FAISS index: recap-fit --index and recap-index build it,
// recap-caption searches through it (or exactly with --exact), and broken or foreign
// indexes fail with one line and no output.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "recap/io/json_file.h"
#include "clip_tools_support.h"  // test::expect_failure
#include "synthetic_world.h"
#include "test_support.h"

using namespace recap;
namespace fs = std::filesystem;

namespace {

class RecapIndex : public test::SyntheticWorld {
 protected:
  fs::path path(const std::string& name) const { return tmp_ / name; }
  test::ToolRun caption(const fs::path& run, const fs::path& out, const std::string& extra = "") const {
    return test::run_tool("recap-caption", "--run " + run.string() + " --image-embeddings " + syn("queries.npy").string() +
                                               " --k 5 --out " + out.string() + " --details " + out.string() + ".details.jsonl " +
                                               extra);
  }
  test::TempDir tmp_;
};

}  // namespace

TEST_F(RecapIndex, FitBuildsTheIndexAndCaptionUsesIt) {
  auto fit = test::run_tool("recap-fit", fit_args(path("run")) + " --index IVF16,Flat");
  ASSERT_EQ(fit.status, 0) << fit.err;
  EXPECT_NE(fit.out.find("built IVF-Flat (nlist 16)"), std::string::npos) << fit.out;
  EXPECT_NE(fit.out.find("recall@1"), std::string::npos) << fit.out;
  ASSERT_TRUE(fs::exists(path("run") / "index" / "index.faiss"));
  const auto manifest = io::read_json(path("run") / "index" / "index.json");
  EXPECT_EQ(manifest["factory"], "IVF16,Flat");
  EXPECT_EQ(manifest["rows"], 2000);
  EXPECT_EQ(manifest["dim"], 32);
  EXPECT_EQ(manifest["metric"], "inner_product");
  EXPECT_EQ(manifest["search_defaults"]["nprobe"], 8);
  // Recall measured with the fit's own image embeddings, mapped with W.
  EXPECT_NE(manifest["recall"]["query_source"].get<std::string>().find("image_embeddings.npy"), std::string::npos);
  EXPECT_EQ(manifest["recall"]["queries"], 400);
  EXPECT_GT(manifest["recall"]["at_k"].get<double>(), 0.5);
  EXPECT_LE(manifest["recall"]["at_k"].get<double>(), 1.0);
  const auto run_json = io::read_json(path("run") / "run.json");
  EXPECT_EQ(run_json["index"]["recall"], manifest["recall"]);
  EXPECT_EQ(run_json["tool"], "recap-fit");  // the rest of run.json is kept

  // Every cell visited: the index's captions are exact search's.
  auto indexed = caption(path("run"), path("indexed.json"), "--nprobe 16");
  ASSERT_EQ(indexed.status, 0) << indexed.err;
  auto exact = caption(path("run"), path("exact.json"), "--exact");
  ASSERT_EQ(exact.status, 0) << exact.err;
  EXPECT_EQ(io::read_json(path("indexed.json")), io::read_json(path("exact.json")));
  // One cell of 16: another search, which the resume settings tell apart.
  auto narrow = caption(path("run"), path("narrow.json"), "--nprobe 1");
  ASSERT_EQ(narrow.status, 0) << narrow.err;
  const auto exact_details = io::read_jsonl(path("exact.json.details.jsonl"));
  const auto narrow_details = io::read_jsonl(path("narrow.json.details.jsonl"));
  ASSERT_EQ(exact_details.size(), 60u);
  int same = 0;
  for (std::size_t q = 0; q < 60; ++q) same += exact_details[q]["retrieved"] == narrow_details[q]["retrieved"];
  EXPECT_LT(same, 60);  // nprobe reached the index: one cell misses some neighbours

  // The run with its index stays replaceable by recap-fit --force.
  auto refit = test::run_tool("recap-fit", fit_args(path("run")) + " --force");
  ASSERT_EQ(refit.status, 0) << refit.err;
  EXPECT_FALSE(fs::exists(path("run") / "index"));
}

TEST_F(RecapIndex, IndexToolBuildsReplacesOnlyWithForceAndRecordsRecall) {
  ASSERT_EQ(test::run_tool("recap-fit", fit_args(path("run"))).status, 0);
  auto built = test::run_tool("recap-index", "--run " + path("run").string() + " --index HNSW16 --ef-search 2000");
  ASSERT_EQ(built.status, 0) << built.err;
  const auto manifest = io::read_json(path("run") / "index" / "index.json");
  EXPECT_EQ(manifest["search_defaults"]["ef_search"], 2000);
  // A walk as wide as the datastore finds exact search's neighbours.
  EXPECT_EQ(manifest["recall"]["at_1"], 1.0);
  EXPECT_EQ(manifest["recall"]["at_k"], 1.0);

  auto again = test::run_tool("recap-index", "--run " + path("run").string() + " --index IVF8,Flat");
  test::expect_failure(again, 2, "pass --force");
  EXPECT_EQ(io::read_json(path("run") / "index" / "index.json")["factory"], "HNSW16");
  auto bad = test::run_tool("recap-index", "--run " + path("run").string() + " --index Nonsense7 --force");
  test::expect_failure(bad, 2, "--index 'Nonsense7'");
  EXPECT_EQ(io::read_json(path("run") / "index" / "index.json")["factory"], "HNSW16");
  auto replaced = test::run_tool("recap-index", "--run " + path("run").string() + " --index IVF8,PQ4 --force");
  ASSERT_EQ(replaced.status, 0) << replaced.err;
  EXPECT_EQ(io::read_json(path("run") / "index" / "index.json")["factory"], "IVF8,PQ4");
  EXPECT_EQ(io::read_json(path("run") / "run.json")["index"]["factory"], "IVF8,PQ4");
  auto searched = caption(path("run"), path("pq.json"));
  ASSERT_EQ(searched.status, 0) << searched.err;
  // --ef-search is an HNSW knob; this is an IVF index.
  test::expect_failure(caption(path("run"), path("ef.json"), "--ef-search 10"), 2, "--ef-search applies to HNSW indexes");
  EXPECT_FALSE(fs::exists(path("ef.json")));
}

TEST_F(RecapIndex, BrokenOrMissingIndexIsOneLineAndNoOutput) {
  ASSERT_EQ(test::run_tool("recap-fit", fit_args(path("run"))).status, 0);
  test::expect_failure(caption(path("run"), path("out.json"), "--nprobe 4"), 2, "has no FAISS index");
  ASSERT_EQ(test::run_tool("recap-index", "--run " + path("run").string() + " --index IVF8,Flat").status, 0);
  const fs::path file = path("run") / "index" / "index.faiss";
  const auto bytes = test::read_bytes(file);
  test::write_bytes(file, bytes.substr(0, bytes.size() - 100));
  test::expect_failure(caption(path("run"), path("out.json")), 3, file.string());
  EXPECT_FALSE(fs::exists(path("out.json")));
  // A broken index is refused even where exact search would do, so that it never goes
  // unnoticed; recap-index --force repairs it.
  auto repaired = test::run_tool("recap-index", "--run " + path("run").string() + " --index IVF8,Flat --force");
  ASSERT_EQ(repaired.status, 0) << repaired.err;
  ASSERT_EQ(caption(path("run"), path("out.json")).status, 0);
  // A datastore changed under its index is refused by its fingerprint.
  fs::copy_file(syn("text_embeddings.npy"), path("run") / "datastore" / "embeddings.npy",
                fs::copy_options::overwrite_existing);
  test::expect_failure(caption(path("run"), path("other.json")), 3, "built from another datastore");
}
