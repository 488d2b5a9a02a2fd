#pragma once
// The synthetic world of recap-synth that the e2e tests of recap-fit, recap-caption and
// recap-index run on: 400 images with 5 captions each around 150 concepts, 60 held-out
// queries with known answers, d = 32. Made once per test suite.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "test_support.h"

namespace recap::test {

class SyntheticWorld : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    world_ = new TempDir();
    auto run = run_tool("recap-synth", "--images 400 --captions-per-image 5 --queries 60 --dim 32 --concepts 150 "
                                       "--seed 3 --out " + (*world_ / "syn").string());
    ASSERT_EQ(run.status, 0) << run.err;
  }
  static void TearDownTestSuite() {
    delete world_;
    world_ = nullptr;
  }
  static std::filesystem::path syn(const std::string& name) { return *world_ / "syn" / name; }
  // recap-fit's arguments for the world's embeddings, pairs and captions, the run in `out`.
  static std::string fit_args(const std::filesystem::path& out) {
    return "--image-embeddings " + syn("image_embeddings.npy").string() + " --text-embeddings " +
           syn("text_embeddings.npy").string() + " --pairs " + syn("pairs.npy").string() + " --captions " +
           syn("captions.jsonl").string() + " --out " + out.string();
  }
  inline static TempDir* world_ = nullptr;
};

}  // namespace recap::test
