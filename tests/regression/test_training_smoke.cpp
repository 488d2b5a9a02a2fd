// The demo models' training (recap-demo train) from the seed: the first steps give the
// losses recorded here, and start where a closed-form argument says they must. A change
// to the world, the tokenizers, the architectures, the initialisation or the loss shows
// up here in seconds, long before a retrained model would.
#include <gtest/gtest.h>

#include <cmath>

#include "recap/models/clip_model.h"
#include "recap/models/t5_model.h"
#include "recap/text/t5_tokenizer.h"
#include "recap/train/clip_training.h"
#include "recap/train/t5_training.h"
#include "test_support.h"

using namespace recap;
namespace fs = std::filesystem;

namespace {

// Recorded from the seed (models/demo's tokenizers; 2 threads, AMD EPYC Zen 5).
const std::vector<double> kClipLosses = {3.92205, 4.40773, 3.81744};
const std::vector<double> kT5Losses = {5.53934, 3.94762, 2.98637};

fs::path shipped(const std::string& part) { return test::source_dir() / "models" / "demo" / part; }

void expect_losses(const train::TrainingLog& log, const std::vector<double>& expected) {
  ASSERT_EQ(log.losses.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(log.losses[i].first, static_cast<int>(i + 1));
    // Float sums differ a little with the thread count; a changed computation moves them far more.
    EXPECT_NEAR(log.losses[i].second, expected[i], 2e-3) << "step " << i + 1;
  }
}

}  // namespace

TEST(DemoTraining, ClipsFirstStepsFromTheSeedGiveTheRecordedLosses) {
  test::TempDir dir;
  for (const char* file : {"vocab.json", "merges.txt"}) fs::copy_file(shipped("clip") / file, dir / file);
  train::ClipTrainingOptions options;
  options.steps = 3;
  options.batch_size = 32;
  options.warmup_steps = 1;
  options.log_every = 1;
  const auto log = train::train_clip(dir.path(), options);
  // At initialisation pictures and captions are unrelated: the contrastive loss of a batch
  // of B is about ln B (a uniform guess among B), more by the spread of the random
  // similarities (times CLIP's initial temperature 1/0.07).
  EXPECT_GT(log.losses.at(0).second, 0.95 * std::log(32.0));
  EXPECT_LT(log.losses.at(0).second, std::log(32.0) + 1.5);
  expect_losses(log, kClipLosses);
  // What it writes is a CLIP the loader reads.
  const auto clip = models::ClipModel::load(dir.path());
  EXPECT_EQ(clip.info().embed_dim, options.embed_dim);
  EXPECT_EQ(clip.info().image_resolution, options.image_size);
  EXPECT_EQ(clip.info().context_length, options.context_length);
}

TEST(DemoTraining, T5sFirstStepsFromTheSeedGiveTheRecordedLosses) {
  test::TempDir dir;
  fs::copy_file(shipped("t5") / "spiece.model", dir / "spiece.model");
  const std::vector<train::Seq2SeqExample> examples = {
      {"Similar images show: a red circle a big red disc This image shows:", "a red circle on the left"},
      {"Similar images show: two blue squares a pair of blue boxes This image shows:", "two blue squares"},
      {"Similar images show: a green star above a white triangle This image shows:", "a green star over a white triangle"},
  };
  train::T5TrainingOptions options;
  options.steps = 3;
  options.batch_size = 4;
  options.warmup_steps = 1;
  options.log_every = 1;
  const auto log = train::train_t5(dir.path(), examples, options);
  // An untrained decoder guesses among the whole vocabulary: about ln V per token.
  const double uniform = std::log(double(text::T5Tokenizer::load(dir / "spiece.model", 0).vocab_size()));
  EXPECT_NEAR(log.losses.at(0).second, uniform, 0.1 * uniform);
  expect_losses(log, kT5Losses);
  models::T5LoadOptions load;
  const auto t5 = models::T5Model::load(dir.path(), load);
  EXPECT_EQ(t5.info().d_model, options.d_model);
  EXPECT_TRUE(t5.info().own_lm_head);
}
