// The demo's models from a seed: tokenizers, CLIP, then T5 on prompts built with the
// trained CLIP exactly as recap-caption --lm builds them.
#include "recap/train/demo_models.h"

#include <torch/torch.h>

#include <chrono>
#include <sstream>

#include "recap/align/fit.h"
#include "recap/caption/lm_prompt.h"
#include "recap/demo/world.h"
#include "recap/io/atomic_file.h"
#include "recap/metrics/retrieval_recall.h"
#include "recap/models/clip_model.h"
#include "recap/text/bpe_training.h"
#include "recap/text/sentencepiece_training.h"
#include "recap/vision/preprocess.h"
#include "recap/common/seed_mix.h"
#include "training_support.h"

namespace recap::train {

namespace fs = std::filesystem;

nlohmann::json DemoModelOptions::to_json() const {
  return {{"seed", seed}, {"bpe_merges", bpe_merges}, {"sentencepiece_vocab", sentencepiece_vocab},
          {"corpus_scenes", corpus_scenes}, {"clip", clip.to_json()}, {"t5_pool", t5_pool}, {"k", k},
          {"prompt_template", prompt_template}, {"separator", separator}, {"t5", t5.to_json()}};
}

namespace {

// Seeds of the independent streams drawn from the one seed the user gives.
enum Stream : std::uint64_t { kCorpus = 1, kClip = 2, kT5Pool = 3, kT5 = 4 };

struct Pool {
  io::FloatMatrix images, texts;  // embeddings: one row per scene, one per caption
  std::vector<std::int64_t> owner;
  std::vector<std::string> captions;
};

Pool embed_pool(const models::ClipModel& clip, std::uint64_t seed, int scenes) {
  Pool pool;
  const int size = clip.info().image_resolution;
  const auto& preprocess = clip.preprocess_config();
  std::vector<float> pixels(static_cast<std::size_t>(scenes) * 3 * size * size);
  for (int i = 0; i < scenes; ++i) {
    const auto scene = demo::training_scene(seed, static_cast<std::uint64_t>(i));
    draw_preprocessed(scene, size, preprocess, pixels.data() + static_cast<std::size_t>(i) * 3 * size * size);
    for (auto& c : demo::dataset_captions(scene, 5, mix_seed(seed, static_cast<std::uint64_t>(i)))) {
      pool.captions.push_back(std::move(c));
      pool.owner.push_back(i);
    }
  }
  pool.images = clip.encode_images(pixels.data(), scenes);
  pool.texts = clip.encode_texts(pool.captions);
  return pool;
}

// Each scene's prompt from the k captions of other scenes nearest to its mapped image
// embedding (its own captions are left out, as a test image's are not in the datastore).
std::vector<Seq2SeqExample> t5_examples(const Pool& pool, const DemoModelOptions& options) {
  io::FloatMatrix x(static_cast<std::int64_t>(pool.owner.size()), pool.images.cols);
  for (std::size_t j = 0; j < pool.owner.size(); ++j) {
    std::copy(pool.images.row(pool.owner[j]), pool.images.row(pool.owner[j]) + x.cols, x.row(static_cast<std::int64_t>(j)));
  }
  align::FitOptions fit_options;
  fit_options.method = align::Method::procrustes;
  const auto w = align::fit_in_memory(x, pool.texts, fit_options).w;
  auto as_tensor = [](const io::FloatMatrix& m) {
    return torch::from_blob(const_cast<float*>(m.data()), {m.rows, m.cols}, torch::kFloat32);
  };
  auto images = torch::nn::functional::normalize(as_tensor(pool.images), torch::nn::functional::NormalizeFuncOptions().dim(1));
  auto mapped = torch::nn::functional::normalize(torch::matmul(images, as_tensor(w)),
                                                 torch::nn::functional::NormalizeFuncOptions().dim(1));
  auto texts = torch::nn::functional::normalize(as_tensor(pool.texts), torch::nn::functional::NormalizeFuncOptions().dim(1));
  auto owner = torch::tensor(pool.owner, torch::kInt64);
  std::vector<Seq2SeqExample> examples;
  for (std::int64_t i = 0; i < pool.images.rows; ++i) {
    auto sims = torch::matmul(texts, mapped[i]);
    sims.masked_fill_(owner == i, -2.0f);
    const auto top = std::get<1>(sims.topk(options.k));
    std::vector<std::string> retrieved;
    for (std::int64_t r = 0; r < options.k; ++r) retrieved.push_back(pool.captions[top[r].item<std::int64_t>()]);
    const auto prompt = caption::build_prompt(options.prompt_template, retrieved, options.separator);
    for (std::size_t j = 0; j < pool.owner.size(); ++j) {
      if (pool.owner[j] == i) examples.push_back({prompt, pool.captions[j]});
    }
  }
  return examples;
}

std::string loss_line(int step, int steps, double loss) {
  std::ostringstream s;
  s << "step " << step << "/" << steps << ", loss " << loss;
  return s.str();
}

}  // namespace

DemoModelsReport train_demo_models(const fs::path& folder, const DemoModelOptions& options, bool force,
                                   const StageCallback& report) {
  const auto started = std::chrono::steady_clock::now();
  auto say = [&](const std::string& stage, const std::string& message) {
    if (report) report(stage, message);
  };
  if (options.threads > 0) at::set_num_threads(options.threads);
  io::StagingDirectory staging(folder, force);
  const fs::path clip_dir = staging.path() / "clip", t5_dir = staging.path() / "t5";
  fs::create_directories(clip_dir);
  fs::create_directories(t5_dir);

  say("tokenizers", "learning CLIP's BPE vocabulary and T5's sentencepiece model");
  auto corpus = demo::caption_corpus(mix_seed(options.seed, kCorpus), options.corpus_scenes);
  text::write_clip_bpe(text::learn_clip_bpe(corpus, options.bpe_merges), clip_dir);
  // T5 reads the prompt's own words too.
  corpus.push_back(options.prompt_template);
  text::SentencePieceOptions spm;
  spm.vocab_size = options.sentencepiece_vocab;
  text::train_sentencepiece(corpus, t5_dir / "spiece.model", spm);

  DemoModelsReport result;
  ClipTrainingOptions clip_options = options.clip;
  clip_options.seed = mix_seed(options.seed, kClip);
  result.clip = train_clip(clip_dir, clip_options, [&](int step, int steps, double loss) {
    say("clip", loss_line(step, steps, loss));
  });

  say("t5 prompts", "embedding " + std::to_string(options.t5_pool) + " scenes and retrieving their prompts");
  models::ClipLoadOptions load;
  load.threads = options.threads;
  const auto clip = models::ClipModel::load(clip_dir, load);
  const auto pool = embed_pool(clip, mix_seed(options.seed, kT5Pool), options.t5_pool);
  const auto gap = metrics::modality_gap(pool.images, pool.texts, pool.owner);
  result.modality_gap = gap.to_json();
  say("t5 prompts", "modality gap " + std::to_string(gap.centre_distance) + ", matched cosine " +
                        std::to_string(gap.matched_cosine));
  const auto examples = t5_examples(pool, options);

  T5TrainingOptions t5_options = options.t5;
  t5_options.seed = mix_seed(options.seed, kT5);
  result.t5 = train_t5(t5_dir, examples, t5_options, [&](int step, int steps, double loss) {
    say("t5", loss_line(step, steps, loss));
  });

  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const nlohmann::json record = {{"options", options.to_json()},
                                 {"clip", result.clip.to_json()},
                                 {"t5", result.t5.to_json()},
                                 {"modality_gap", result.modality_gap},
                                 {"threads", at::get_num_threads()},
                                 {"seconds", result.seconds}};
  io::write_text_file(staging.path() / "training.json", record.dump(1) + "\n");
  staging.commit();
  return result;
}

}  // namespace recap::train
