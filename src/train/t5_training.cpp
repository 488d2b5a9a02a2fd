// T5 trained from scratch with teacher forcing. The modules are the ones the loader fills
// (src/models/t5_modules.h), named as Hugging Face names them, so saving is their state
// dict as it is.
#include "recap/train/t5_training.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <random>

#include "../models/t5_modules.h"
#include "recap/common/error.h"
#include "recap/io/atomic_file.h"
#include "recap/io/safetensors_writer.h"
#include "recap/text/t5_tokenizer.h"
#include "training_support.h"

namespace recap::train {

namespace fs = std::filesystem;
using models::detail::T5;
using models::detail::T5Config;

nlohmann::json T5TrainingOptions::to_json() const {
  return {{"seed", seed},       {"d_model", d_model},   {"d_kv", d_kv},
          {"d_ff", d_ff},       {"num_heads", num_heads}, {"encoder_layers", encoder_layers},
          {"decoder_layers", decoder_layers}, {"steps", steps}, {"batch_size", batch_size},
          {"warmup_steps", warmup_steps}, {"learning_rate", learning_rate}, {"weight_decay", weight_decay},
          {"max_input_tokens", max_input_tokens}, {"max_target_tokens", max_target_tokens}};
}

namespace {

T5Config architecture(const T5TrainingOptions& o, std::int64_t vocab_size) {
  T5Config c;
  c.vocab_size = vocab_size;
  c.d_model = o.d_model;
  c.d_kv = o.d_kv;
  c.d_ff = o.d_ff;
  c.num_heads = o.num_heads;
  c.num_layers = o.encoder_layers;
  c.num_decoder_layers = o.decoder_layers;
  c.gated = true;
  c.activation = models::detail::T5Activation::gelu_new;
  c.scale_decoder_outputs = false;  // an own lm_head, as FLAN-T5: no d_model^-0.5 rescale
  return c;
}

// Hugging Face's T5PreTrainedModel._init_weights (initializer_factor 1).
void initialise(T5& model) {
  torch::NoGradGuard no_grad;
  const auto& c = model->config;
  const double d = c.d_model, inner = double(c.num_heads) * c.d_kv;
  for (auto& p : model->named_parameters(true)) {
    const std::string& name = p.key();
    auto& w = p.value();
    auto ends = [&](const std::string& s) { return name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0; };
    if (ends("layer_norm.weight")) w.fill_(1.0);
    else if (name == "shared.weight") w.normal_(0, 1.0);
    else if (name == "lm_head.weight") w.normal_(0, std::pow(d, -0.5));
    else if (ends(".q.weight")) w.normal_(0, std::pow(d * c.d_kv, -0.5));
    else if (ends(".k.weight") || ends(".v.weight")) w.normal_(0, std::pow(d, -0.5));
    else if (ends(".o.weight")) w.normal_(0, std::pow(inner, -0.5));
    else if (ends("relative_attention_bias.weight")) w.normal_(0, std::pow(d, -0.5));
    else if (ends(".wi_0.weight") || ends(".wi_1.weight")) w.normal_(0, std::pow(d, -0.5));
    else if (ends(".wo.weight")) w.normal_(0, std::pow(double(c.d_ff), -0.5));
    else throw std::logic_error("train_t5: no initialisation for " + name);
  }
}

struct Batch {
  torch::Tensor input_ids, input_mask, decoder_input_ids, labels;
};

torch::Tensor padded(const std::vector<std::vector<std::int64_t>>& rows, std::int64_t pad) {
  std::size_t width = 0;
  for (const auto& r : rows) width = std::max(width, r.size());
  auto t = torch::full({static_cast<std::int64_t>(rows.size()), static_cast<std::int64_t>(width)}, pad, torch::kInt64);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    std::copy(rows[i].begin(), rows[i].end(), t[static_cast<std::int64_t>(i)].data_ptr<std::int64_t>());
  }
  return t;
}

// Labels are the target's ids and </s>; the decoder reads them shifted right after the
// start token (0), as Hugging Face's T5 does; padding in the labels is ignored (-100).
Batch make_batch(const std::vector<std::vector<std::int64_t>>& inputs,
                 const std::vector<std::vector<std::int64_t>>& targets, std::int64_t start_id) {
  Batch b;
  b.input_ids = padded(inputs, 0);
  std::vector<std::vector<std::int64_t>> ones;
  for (const auto& r : inputs) ones.emplace_back(r.size(), 1);
  b.input_mask = padded(ones, 0);
  std::vector<std::vector<std::int64_t>> shifted;
  for (const auto& t : targets) {
    std::vector<std::int64_t> s{start_id};
    s.insert(s.end(), t.begin(), t.end() - 1);
    shifted.push_back(std::move(s));
  }
  b.decoder_input_ids = padded(shifted, 0);
  b.labels = padded(targets, -100);
  return b;
}

void save(const fs::path& folder, T5& model) {
  std::vector<torch::Tensor> keep;
  std::vector<io::TensorToWrite> tensors;
  for (const auto& p : model->named_parameters(true)) {
    keep.push_back(p.value().detach().contiguous());
    tensors.push_back({p.key(), std::vector<std::int64_t>(p.value().sizes().begin(), p.value().sizes().end()),
                       keep.back().data_ptr<float>()});
  }
  io::write_safetensors(folder / "model.safetensors", tensors, {{"format", "pt"}});
  const auto& c = model->config;
  const nlohmann::json config = {
      {"architectures", {"T5ForConditionalGeneration"}}, {"model_type", "t5"}, {"d_model", c.d_model},
      {"d_kv", c.d_kv}, {"d_ff", c.d_ff}, {"num_heads", c.num_heads}, {"num_layers", c.num_layers},
      {"num_decoder_layers", c.num_decoder_layers}, {"feed_forward_proj", "gated-gelu"},
      {"dense_act_fn", "gelu_new"}, {"is_gated_act", true}, {"layer_norm_epsilon", c.layer_norm_epsilon},
      {"relative_attention_num_buckets", c.relative_attention_num_buckets},
      {"relative_attention_max_distance", c.relative_attention_max_distance}, {"vocab_size", c.vocab_size},
      {"tie_word_embeddings", false}, {"decoder_start_token_id", 0}, {"eos_token_id", 1}, {"pad_token_id", 0},
      {"dropout_rate", 0.0}, {"is_encoder_decoder", true}, {"torch_dtype", "float32"}};
  io::write_text_file(folder / "config.json", config.dump(1) + "\n");
  // The vocabulary is sentencepiece's alone: no <extra_id_*> sentinels.
  io::write_text_file(folder / "tokenizer_config.json",
                      nlohmann::json{{"extra_ids", 0}, {"tokenizer_class", "T5Tokenizer"}}.dump(1) + "\n");
}

}  // namespace

TrainingLog train_t5(const fs::path& folder, const std::vector<Seq2SeqExample>& examples,
                     const T5TrainingOptions& options, const ProgressCallback& progress) {
  if (examples.empty()) throw UsageError("train_t5: no training examples");
  const auto started = std::chrono::steady_clock::now();
  const auto tokenizer = text::T5Tokenizer::load(folder / "spiece.model", /*extra_ids=*/0);
  std::vector<std::vector<std::int64_t>> inputs, targets;
  for (const auto& e : examples) {
    inputs.push_back(tokenizer.encode(e.input, true, options.max_input_tokens));
    targets.push_back(tokenizer.encode(e.target, true, options.max_target_tokens));
  }
  torch::manual_seed(options.seed);
  T5 model(architecture(options, tokenizer.vocab_size()), /*own_lm_head=*/true);
  initialise(model);
  auto optimizer = make_adamw(*model, options.learning_rate, options.weight_decay);
  std::mt19937_64 draw(options.seed);  // its sequence is fixed by the standard, unlike distributions'
  const StepSchedule schedule{options.steps, options.warmup_steps, options.log_every, options.learning_rate};
  auto log = run_steps(*optimizer, schedule, [&](int) {
    std::vector<std::vector<std::int64_t>> batch_inputs, batch_targets;
    for (int i = 0; i < options.batch_size; ++i) {
      const auto pick = draw() % examples.size();
      batch_inputs.push_back(inputs[pick]);
      batch_targets.push_back(targets[pick]);
    }
    const auto batch = make_batch(batch_inputs, batch_targets, model->config.decoder_start_token_id);
    auto encoded = model->encode(batch.input_ids, batch.input_mask);
    auto cache = model->start_decoder(encoded, batch.input_mask);
    auto logits = model->head(model->decode(batch.decoder_input_ids, cache));
    return torch::nn::functional::cross_entropy(logits.reshape({-1, logits.size(-1)}), batch.labels.reshape({-1}),
                                                torch::nn::functional::CrossEntropyFuncOptions().ignore_index(-100));
  }, progress);
  save(folder, model);
  log.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return log;
}

}  // namespace recap::train
