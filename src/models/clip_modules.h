#pragma once
// CLIP as LibTorch modules, named and shaped exactly as OpenAI's model.py so that an
// OpenAI state dict (TorchScript or safetensors) loads by name. Private to src/models:
// the public API (recap/models/clip_model.h) keeps torch types out of tool code.
#include <torch/torch.h>

#include "loaded_layers.h"

#include <array>
#include <string>
#include <vector>

namespace recap::models::detail {

enum class Activation { quick_gelu, gelu };

// Everything the weights alone do not say (heads) or say implicitly (sizes).
struct ClipConfig {
  bool vit = true;
  int image_resolution = 224;
  int vision_width = 768;
  int vision_layers = 12;                     // ViT
  std::array<int, 4> resnet_layers{3, 4, 6, 3};  // ModifiedResNet
  int vision_heads = 12;
  int patch_size = 32;
  int vision_mlp = 3072;
  int embed_dim = 512;
  int context_length = 77;
  int vocab_size = 49408;
  int text_width = 512;
  int text_heads = 8;
  int text_layers = 12;
  int text_mlp = 2048;
  Activation activation = Activation::quick_gelu;
  double layer_norm_eps = 1e-5;

  std::string describe() const;  // e.g. "ViT (width 768, 12 layers, patch 32, 224 px) + text (512, 12 layers)"
};

// LayerNorm computed in float32 whatever the input dtype (OpenAI's LayerNorm subclass).
torch::Tensor layer_norm_fp32(const torch::Tensor& x, torch::nn::LayerNorm& ln);

// torch.nn.MultiheadAttention's parameters (in_proj_weight/bias, out_proj), batch-first.
struct MultiheadAttentionImpl : torch::nn::Module {
  MultiheadAttentionImpl(int width, int heads);
  // `residual` (undefined, or of the output's shape) is added to the output: a block's
  // residual connection, added as the out-projection writes its results (see dense()).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask = {}, const torch::Tensor& residual = {});
  // Attention of the `queries` tokens ([B, Q, W]) over all of `x` ([B, L, W]); `mask`
  // ([B, Q, L] or broadcastable) is added to the scores.
  torch::Tensor forward_queries(const torch::Tensor& queries, const torch::Tensor& x, const torch::Tensor& mask = {},
                                const torch::Tensor& residual = {});
  int heads;
  torch::Tensor in_proj_weight, in_proj_bias;
  LoadedLinear out_proj{nullptr};
};
TORCH_MODULE(MultiheadAttention);

struct MlpImpl : torch::nn::Module {
  MlpImpl(int width, int hidden, Activation activation);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& residual = {});  // residual: as attention's
  // forward's two products: c_fc with the activation, then c_proj (+ residual).
  torch::Tensor hidden(const torch::Tensor& x);
  torch::Tensor project(const torch::Tensor& hidden, const torch::Tensor& residual, torch::ScalarType out_type);
  LoadedLinear c_fc{nullptr}, c_proj{nullptr};
  Activation activation;
};
TORCH_MODULE(Mlp);

struct ResidualAttentionBlockImpl : torch::nn::Module {
  ResidualAttentionBlockImpl(int width, int heads, int mlp, Activation activation, double eps);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask = {});
  // The block's output at one position per sequence (`positions`: [B] int64) -> [B, W].
  // Equal to forward(x, mask) at those rows, without computing the other rows.
  torch::Tensor forward_at(const torch::Tensor& x, const torch::Tensor& positions, const torch::Tensor& mask = {});
  // The block's first half: x + attention(ln_1(x)), at every row or at `positions`.
  torch::Tensor attention_half(const torch::Tensor& x, const torch::Tensor& mask);
  torch::Tensor attention_half_at(const torch::Tensor& x, const torch::Tensor& positions, const torch::Tensor& mask);
  MultiheadAttention attn{nullptr};
  torch::nn::LayerNorm ln_1{nullptr}, ln_2{nullptr};
  Mlp mlp{nullptr};
};
TORCH_MODULE(ResidualAttentionBlock);

struct TransformerImpl : torch::nn::Module {
  TransformerImpl(int width, int layers, int heads, int mlp, Activation activation, double eps);
  torch::Tensor forward(torch::Tensor x, const torch::Tensor& mask = {});
  // Output at one position per sequence ([B] int64) -> [B, W]: CLIP pools a single token,
  // so the last block only needs that token's row (it queries; every token is a key).
  torch::Tensor forward_at(torch::Tensor x, const torch::Tensor& positions, const torch::Tensor& mask = {});
  // forward_at of several independent batches (xs[i], positions[i], masks[i]), each with
  // its own shapes, walked through the blocks together: block 1 for every batch, then
  // block 2, ... Each batch's result is forward_at's bit for bit (the same operations on
  // the same shapes); only their order changes, so that a block's weights, read from
  // memory for the first batch, are still in the cache for the others.
  std::vector<torch::Tensor> forward_at_each(std::vector<torch::Tensor> xs, const std::vector<torch::Tensor>& positions,
                                             const std::vector<torch::Tensor>& masks);
  torch::nn::ModuleList resblocks;
};
TORCH_MODULE(Transformer);

struct VisionTransformerImpl : torch::nn::Module {
  explicit VisionTransformerImpl(const ClipConfig& c);
  torch::Tensor forward(const torch::Tensor& pixels);
  // forward of each batch, the batches walked through the blocks together
  // (Transformer::forward_at_each): the same embeddings, bit for bit.
  std::vector<torch::Tensor> forward_each(const std::vector<torch::Tensor>& pixels);
  torch::Tensor embed_patches(const torch::Tensor& pixels);  // conv1, as [B, grid², width]
  LoadedConv2d conv1{nullptr};
  torch::Tensor class_embedding, positional_embedding, proj;
  torch::nn::LayerNorm ln_pre{nullptr}, ln_post{nullptr};
  Transformer transformer{nullptr};

 private:
  // forward's steps before and after the blocks; the class token (position 0) is pooled.
  torch::Tensor embed_tokens(const torch::Tensor& pixels);
  torch::Tensor project(const torch::Tensor& pooled);
  static torch::Tensor class_positions(const torch::Tensor& x);
};
TORCH_MODULE(VisionTransformer);

// BatchNorm2d in eval mode with the reference's parameter and buffer names
// (num_batches_tracked only matters in training and is not kept).
struct FrozenBatchNormImpl : torch::nn::Module {
  explicit FrozenBatchNormImpl(int channels);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight, bias, running_mean, running_var;
};
TORCH_MODULE(FrozenBatchNorm);

// ModifiedResNet's Bottleneck: every conv stride 1, an avgpool before conv3 when strided,
// and a downsample of avgpool -> 1x1 conv -> BN ("downsample.0", "downsample.1").
struct BottleneckImpl : torch::nn::Module {
  BottleneckImpl(int inplanes, int planes, int stride);
  torch::Tensor forward(const torch::Tensor& x);
  int stride;
  LoadedConv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr};
  FrozenBatchNorm bn1{nullptr}, bn2{nullptr}, bn3{nullptr};
  torch::nn::Sequential downsample{nullptr};
};
TORCH_MODULE(Bottleneck);

struct AttentionPool2dImpl : torch::nn::Module {
  AttentionPool2dImpl(int spacial_dim, int embed_dim, int heads, int output_dim);
  torch::Tensor forward(const torch::Tensor& x);
  int heads;
  torch::Tensor positional_embedding;
  LoadedLinear k_proj{nullptr}, q_proj{nullptr}, v_proj{nullptr}, c_proj{nullptr};
};
TORCH_MODULE(AttentionPool2d);

struct ModifiedResNetImpl : torch::nn::Module {
  explicit ModifiedResNetImpl(const ClipConfig& c);
  torch::Tensor forward(const torch::Tensor& pixels);
  LoadedConv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr};
  FrozenBatchNorm bn1{nullptr}, bn2{nullptr}, bn3{nullptr};
  torch::nn::Sequential layer1{nullptr}, layer2{nullptr}, layer3{nullptr}, layer4{nullptr};
  AttentionPool2d attnpool{nullptr};
};
TORCH_MODULE(ModifiedResNet);

// The whole CLIP: `visual` is a VisionTransformer or a ModifiedResNet.
struct ClipImpl : torch::nn::Module {
  explicit ClipImpl(const ClipConfig& c);
  torch::Tensor encode_image(const torch::Tensor& pixels);
  // encode_image of each batch; a ViT walks them through its blocks together
  // (VisionTransformer::forward_each), a ResNet encodes them one after another.
  std::vector<torch::Tensor> encode_image_each(const std::vector<torch::Tensor>& pixels);
  torch::Tensor encode_text(const torch::Tensor& ids);
  // encode_text of each batch of `ids`, the batches walked through the text layers
  // together (Transformer::forward_at_each): the same embeddings, bit for bit.
  std::vector<torch::Tensor> encode_text_each(const std::vector<torch::Tensor>& ids);
  ClipConfig config;
  VisionTransformer vit{nullptr};
  ModifiedResNet resnet{nullptr};
  Transformer transformer{nullptr};
  LoadedEmbedding token_embedding{nullptr};
  torch::Tensor positional_embedding, text_projection, logit_scale;
  torch::nn::LayerNorm ln_final{nullptr};

 private:
  // encode_text's steps before and after the text transformer.
  struct TextInput {
    torch::Tensor x, end_of_text, mask;
  };
  TextInput embed_tokens(const torch::Tensor& ids);
  torch::Tensor project_text(const torch::Tensor& pooled);
};
TORCH_MODULE(Clip);

// Rounds the weights of every dense product (LoadedLinear layers, attention in-projections,
// the two output projections, the ViT's patch embedding) to bfloat16 and leaves every
// other parameter float32 (the ResNet's convolutions too).
void round_dense_weights_to_bfloat16(ClipImpl& clip);

}  // namespace recap::models::detail
