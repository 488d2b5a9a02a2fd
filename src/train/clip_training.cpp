// CLIP trained from scratch on the demo world. The modules are the ones the loader fills
// (src/models/clip_modules.h); here they get OpenAI's initialisation and a training loop.
#include "recap/train/clip_training.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>

#include "../models/clip_modules.h"
#include "clip_export.h"
#include "recap/demo/world.h"
#include "recap/text/clip_tokenizer.h"
#include "recap/vision/preprocess.h"
#include "recap/common/seed_mix.h"
#include "training_support.h"

namespace recap::train {

namespace fs = std::filesystem;
using models::detail::Clip;
using models::detail::ClipConfig;

nlohmann::json ClipTrainingOptions::to_json() const {
  return {{"seed", seed},           {"image_size", image_size},     {"patch_size", patch_size},
          {"vision_width", vision_width}, {"vision_layers", vision_layers}, {"vision_heads", vision_heads},
          {"text_width", text_width}, {"text_layers", text_layers},   {"text_heads", text_heads},
          {"embed_dim", embed_dim},   {"context_length", context_length}, {"steps", steps},
          {"batch_size", batch_size}, {"warmup_steps", warmup_steps}, {"learning_rate", learning_rate},
          {"weight_decay", weight_decay}};
}

namespace {

ClipConfig architecture(const ClipTrainingOptions& o, std::int64_t vocab_size) {
  ClipConfig c;
  c.vit = true;
  c.image_resolution = o.image_size;
  c.patch_size = o.patch_size;
  c.vision_width = o.vision_width;
  c.vision_layers = o.vision_layers;
  c.vision_heads = o.vision_heads;
  c.vision_mlp = 4 * o.vision_width;
  c.text_width = o.text_width;
  c.text_layers = o.text_layers;
  c.text_heads = o.text_heads;
  c.text_mlp = 4 * o.text_width;
  c.embed_dim = o.embed_dim;
  c.context_length = o.context_length;
  c.vocab_size = static_cast<int>(vocab_size);
  return c;
}

// OpenAI's CLIP.initialize_parameters (model.py), for both towers.
void initialise(Clip& model) {
  torch::NoGradGuard no_grad;
  const auto& c = model->config;
  auto init_transformer = [](models::detail::Transformer& t, int width, int layers) {
    const double attn_std = std::pow(width, -0.5);
    const double proj_std = attn_std * std::pow(2.0 * layers, -0.5);
    const double fc_std = std::pow(2.0 * width, -0.5);
    for (const auto& module : *t->resblocks) {
      auto block = module->as<models::detail::ResidualAttentionBlock>();
      block->attn->in_proj_weight.normal_(0, attn_std);
      block->attn->in_proj_bias.zero_();
      block->attn->out_proj->weight.normal_(0, proj_std);
      block->attn->out_proj->bias.zero_();
      block->mlp->c_fc->weight.normal_(0, fc_std);
      block->mlp->c_fc->bias.zero_();
      block->mlp->c_proj->weight.normal_(0, proj_std);
      block->mlp->c_proj->bias.zero_();
    }
  };
  model->token_embedding->weight.normal_(0, 0.02);
  model->positional_embedding.normal_(0, 0.01);
  init_transformer(model->transformer, c.text_width, c.text_layers);
  model->text_projection.normal_(0, std::pow(c.text_width, -0.5));
  model->logit_scale.fill_(std::log(1 / 0.07));

  auto& vit = model->vit;
  const double scale = std::pow(c.vision_width, -0.5);
  // PyTorch's default Conv2d initialisation (kaiming uniform, a = sqrt(5)): bound 1/sqrt(fan_in).
  const double fan_in = 3.0 * c.patch_size * c.patch_size;
  vit->conv1->weight.uniform_(-1 / std::sqrt(fan_in), 1 / std::sqrt(fan_in));
  vit->class_embedding.normal_(0, scale);
  vit->positional_embedding.normal_(0, scale);
  vit->proj.normal_(0, scale);
  init_transformer(vit->transformer, c.vision_width, c.vision_layers);
  // LayerNorms keep torch::nn::LayerNorm's own initialisation: weight 1, bias 0.
}

struct Batch {
  torch::Tensor pixels, ids;
};

// Scenes [first, first + n) of the training stream: drawn, preprocessed as recap-embed
// preprocesses a decoded file, and paired with one web caption each.
Batch make_batch(std::uint64_t seed, std::uint64_t first, int n, const ClipTrainingOptions& o,
                 const vision::PreprocessConfig& preprocess, const text::ClipTokenizer& tokenizer) {
  const int size = o.image_size;
  auto pixels = torch::empty({n, 3, size, size}, torch::kFloat32);
  auto ids = torch::zeros({n, o.context_length}, torch::kInt64);
  for (int i = 0; i < n; ++i) {
    const auto scene = demo::training_scene(seed, first + i);
    draw_preprocessed(scene, size, preprocess, pixels[i].data_ptr<float>());
    const auto row = tokenizer.tokenize(demo::web_caption(scene, mix_seed(seed, first + i)), o.context_length);
    std::copy(row.begin(), row.end(), ids[i].data_ptr<std::int64_t>());
  }
  return {pixels, ids};
}

// CLIP's symmetric cross-entropy over the batch's image-text cosine matrix.
torch::Tensor clip_contrastive_loss(const torch::Tensor& image_features, const torch::Tensor& text_features,
                                    const torch::Tensor& logit_scale) {
  auto images = image_features / image_features.norm(2, -1, true);
  auto texts = text_features / text_features.norm(2, -1, true);
  // CLIP clamps the learned temperature at 100.
  auto logits = logit_scale.clamp_max(std::log(100.0)).exp() * torch::matmul(images, texts.t());
  auto labels = torch::arange(logits.size(0), torch::kInt64);
  return (torch::nn::functional::cross_entropy(logits, labels) +
          torch::nn::functional::cross_entropy(logits.t(), labels)) / 2;
}

}  // namespace

TrainingLog train_clip(const fs::path& folder, const ClipTrainingOptions& options, const ProgressCallback& progress) {
  const auto started = std::chrono::steady_clock::now();
  const auto tokenizer = text::ClipTokenizer::load(folder);
  torch::manual_seed(options.seed);
  Clip model(architecture(options, tokenizer.vocab_size()));
  initialise(model);
  const auto preprocess = vision::PreprocessConfig::openai(options.image_size);

  auto optimizer = make_adamw(*model, options.learning_rate, options.weight_decay);
  const StepSchedule schedule{options.steps, options.warmup_steps, options.log_every, options.learning_rate};
  auto log = run_steps(*optimizer, schedule, [&](int step) {
    const auto batch = make_batch(options.seed, static_cast<std::uint64_t>(step - 1) * options.batch_size,
                                  options.batch_size, options, preprocess, tokenizer);
    return clip_contrastive_loss(model->encode_image(batch.pixels), model->encode_text(batch.ids), model->logit_scale);
  }, progress);
  write_hf_clip(folder, model, tokenizer);
  log.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return log;
}

}  // namespace recap::train
