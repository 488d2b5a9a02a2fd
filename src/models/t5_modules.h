#pragma once
// T5 as LibTorch modules, named and shaped as Hugging Face's modeling_t5.py so that a
// checkpoint loads by name ("encoder.block.0.layer.0.SelfAttention.q.weight", ...).
// Private to src/models: the public API (recap/models/t5_model.h) has no torch types.
#include <torch/torch.h>

#include "loaded_layers.h"

#include <string>
#include <vector>

namespace recap::models::detail {

enum class T5Activation { relu, gelu_new, gelu, silu };

struct T5Config {
  std::int64_t vocab_size = 32128;
  int d_model = 512, d_kv = 64, d_ff = 2048, num_heads = 8;
  int num_layers = 6, num_decoder_layers = 6;
  int relative_attention_num_buckets = 32, relative_attention_max_distance = 128;
  double layer_norm_epsilon = 1e-6;
  bool gated = false;
  T5Activation activation = T5Activation::relu;
  bool scale_decoder_outputs = true;  // multiply by d_model^-0.5 before the head
  std::int64_t decoder_start_token_id = 0, eos_token_id = 1, pad_token_id = 0;

  // Parses a Hugging Face T5 config.json; `source` names it in errors (InputError).
  static T5Config from_json(const std::string& text, const std::string& source);
  std::string feed_forward_name() const;
};

// RMS norm without mean or bias; the variance in float32 whatever the input dtype.
struct T5LayerNormImpl : torch::nn::Module {
  T5LayerNormImpl(int d_model, double eps);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight;
  double eps;
};
TORCH_MODULE(T5LayerNorm);

// Multi-head attention without 1/sqrt(d) scaling; layer 0 of each stack also owns the
// relative position bias table (buckets x heads).
struct T5AttentionImpl : torch::nn::Module {
  T5AttentionImpl(const T5Config& c, bool has_relative_bias);
  torch::Tensor project(LoadedLinear& proj, const torch::Tensor& x) const;  // [B, L, D] -> [B, H, L, dk]
  // q: [B, H, Lq, dk], k/v: [B, H, Lk, dk], bias broadcastable to [B, H, Lq, Lk] -> [B, Lq, D].
  torch::Tensor attend(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                       const torch::Tensor& bias);
  // Position bias [1, H, q_len, k_len] for queries at offset, offset+1, ... and keys 0.. k_len-1.
  torch::Tensor compute_bias(std::int64_t q_len, std::int64_t k_len, std::int64_t offset, bool bidirectional,
                             const torch::Device& device, torch::Dtype dtype);
  LoadedLinear q{nullptr}, k{nullptr}, v{nullptr}, o{nullptr};
  LoadedEmbedding relative_attention_bias{nullptr};
  int heads, d_kv, num_buckets, max_distance;
};
TORCH_MODULE(T5Attention);

// Hugging Face's bucketing of relative positions (memory - query): half the buckets exact,
// the rest logarithmic up to max_distance; one sign per half when bidirectional.
torch::Tensor relative_position_bucket(const torch::Tensor& relative_position, bool bidirectional, int num_buckets,
                                       int max_distance);

struct T5DenseImpl : torch::nn::Module {  // "DenseReluDense": wi -> act -> wo, or act(wi_0) * wi_1 -> wo
  explicit T5DenseImpl(const T5Config& c);
  torch::Tensor forward(const torch::Tensor& x);
  LoadedLinear wi{nullptr}, wi_0{nullptr}, wi_1{nullptr}, wo{nullptr};
  T5Activation activation;
};
TORCH_MODULE(T5Dense);

struct T5LayerFFImpl : torch::nn::Module {
  explicit T5LayerFFImpl(const T5Config& c);
  torch::Tensor forward(const torch::Tensor& x);
  T5Dense DenseReluDense{nullptr};
  T5LayerNorm layer_norm{nullptr};
};
TORCH_MODULE(T5LayerFF);

// A pre-norm attention sub-layer (SelfAttention or EncDecAttention) with its residual.
struct T5LayerAttentionImpl : torch::nn::Module {
  T5LayerAttentionImpl(const T5Config& c, const std::string& name, bool has_relative_bias);
  T5Attention attention{nullptr};
  T5LayerNorm layer_norm{nullptr};
};
TORCH_MODULE(T5LayerAttention);

struct T5BlockImpl : torch::nn::Module {
  T5BlockImpl(const T5Config& c, bool decoder, bool has_relative_bias);
  T5LayerAttention self_attention{nullptr}, cross_attention{nullptr};
  T5LayerFF ff{nullptr};
};
TORCH_MODULE(T5Block);

struct T5StackImpl : torch::nn::Module {
  T5StackImpl(const T5Config& c, bool decoder);
  std::vector<T5Block> blocks;
  T5LayerNorm final_layer_norm{nullptr};
};
TORCH_MODULE(T5Stack);

// What the decoder keeps between steps: per layer the self-attention keys/values so far and
// the cross-attention keys/values of the encoder output, plus the encoder padding bias.
// The decoder's rows come in groups of `rows_per_input` consecutive rows per input (beams or
// samples of one prompt). The cross-attention keys and values are kept once per input and
// each group's queries attend to them together, as one product per input and head.
struct DecoderCache {
  std::vector<torch::Tensor> self_k, self_v;    // [rows, H, length, dk], or buffers of `reserve` positions
  std::vector<torch::Tensor> cross_k, cross_v;  // [inputs, H, L_enc, dk], contiguous
  torch::Tensor cross_bias;   // [inputs, 1, 1, L_enc]: 0 for tokens, a large negative for padding
  std::int64_t length = 0;    // decoder positions already processed
  std::int64_t rows_per_input = 1;
  // Positions to make room for (a generation's max_new_tokens). With it, the self-attention
  // keys and values are written into buffers of that many positions instead of being
  // concatenated, which copied the whole cache at every step; 0: concatenate.
  std::int64_t reserve = 0;
  // Layer i's self-attention keys and values for positions [0, length + steps), with
  // `k`, `v` [rows, H, steps, dk] the new ones; stored for the next step.
  std::pair<torch::Tensor, torch::Tensor> append_self(std::size_t i, const torch::Tensor& k, const torch::Tensor& v);
  // Keeps rows (beam search), in the given order; each row must stay within its input's group.
  void reorder(const torch::Tensor& rows);
  void repeat_each(std::int64_t times);  // every row becomes `times` consecutive rows
};

struct T5Impl : torch::nn::Module {
  explicit T5Impl(const T5Config& c, bool own_lm_head);
  // [B, L] ids, [B, L] mask (1/0, may be undefined) -> [B, L, D]
  torch::Tensor encode(const torch::Tensor& ids, const torch::Tensor& mask);
  // Additive padding bias [B, 1, 1, L] from a 1/0 mask (undefined mask: zeros).
  torch::Tensor padding_bias(const torch::Tensor& mask, std::int64_t batch, std::int64_t length) const;
  // The cross-attention keys/values of an encoder output; the cache starts empty.
  DecoderCache start_decoder(const torch::Tensor& encoder_states, const torch::Tensor& encoder_mask);
  // Runs `ids` [B, T] (the next T decoder positions) through the decoder, appending to the
  // cache; returns the final hidden states [B, T, D].
  torch::Tensor decode(const torch::Tensor& ids, DecoderCache& cache);
  // Hidden states -> logits, with the d_model^-0.5 rescale when configured.
  torch::Tensor head(const torch::Tensor& hidden);

  T5Config config;
  LoadedEmbedding shared{nullptr};
  T5Stack encoder{nullptr}, decoder{nullptr};
  LoadedLinear lm_head{nullptr};  // null: tied to `shared`
};
TORCH_MODULE(T5);

}  // namespace recap::models::detail
