// CLIP's encoders, line for line with OpenAI's model.py (names included).
#include "clip_modules.h"

#include <cmath>
#include <sstream>

#include "onednn_attention.h"

namespace recap::models::detail {

namespace F = torch::nn::functional;

std::string ClipConfig::describe() const {
  std::ostringstream s;
  if (vit) {
    s << "ViT (width " << vision_width << ", " << vision_layers << " layers, " << vision_heads << " heads, patch "
      << patch_size << ", " << image_resolution << " px)";
  } else {
    s << "ModifiedResNet (width " << vision_width << ", layers " << resnet_layers[0] << "-" << resnet_layers[1] << "-"
      << resnet_layers[2] << "-" << resnet_layers[3] << ", " << vision_heads << " heads, " << image_resolution << " px)";
  }
  s << " + text transformer (width " << text_width << ", " << text_layers << " layers, " << text_heads
    << " heads), embedding " << embed_dim << ", " << (activation == Activation::quick_gelu ? "quick_gelu" : "gelu");
  return s.str();
}

torch::Tensor layer_norm_fp32(const torch::Tensor& x, torch::nn::LayerNorm& ln) {
  if (x.scalar_type() == torch::kFloat32) return ln->forward(x);
  const auto& o = ln->options;
  return F::layer_norm(x.to(torch::kFloat32), F::LayerNormFuncOptions(o.normalized_shape())
                                                  .weight(ln->weight.to(torch::kFloat32))
                                                  .bias(ln->bias.to(torch::kFloat32))
                                                  .eps(o.eps()))
      .to(x.scalar_type());
}

// The type a layer writes for a product with `weight` that alone reads it: bfloat16 for
// bfloat16 weights (the product reads bfloat16 anyway: see dense()), x's otherwise.
static torch::ScalarType input_type_of(const torch::Tensor& weight, const torch::Tensor& x) {
  return weight.scalar_type() == torch::kBFloat16 ? torch::kBFloat16 : x.scalar_type();
}

MultiheadAttentionImpl::MultiheadAttentionImpl(int width, int heads_) : heads(heads_) {
  in_proj_weight = register_parameter("in_proj_weight", torch::empty({3 * width, width}));
  in_proj_bias = register_parameter("in_proj_bias", torch::zeros({3 * width}));
  out_proj = register_module("out_proj", LoadedLinear(width, width));
}

// Scaled dot-product attention over (batch, length, width); `mask` is added to the scores.
// The result is of `result_type`: q's, or bfloat16 for an out-projection that reads bfloat16.
static torch::Tensor attend(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, int heads,
                            const torch::Tensor& mask, torch::ScalarType result_type) {
  if (auto out = onednn_attention(q, k, v, heads, mask, result_type); out.defined()) return out;
  const auto batch = q.size(0), lq = q.size(1), lk = k.size(1), width = q.size(2);
  const auto head_dim = width / heads;
  // bfloat16 operands on the CPU come from bfloat16 weights and float32 activations: the
  // scores and the softmax are float32 there, as on oneDNN.
  const bool widen = q.device().is_cpu() && q.scalar_type() == torch::kBFloat16;
  auto split = [&](const torch::Tensor& t, int64_t len) {
    return (widen ? t.to(torch::kFloat32) : t).reshape({batch, len, heads, head_dim}).transpose(1, 2);
  };
  auto qh = split(q, lq) / std::sqrt(static_cast<double>(head_dim));
  auto scores = torch::matmul(qh, split(k, lk).transpose(-2, -1));
  if (mask.defined()) scores = scores + mask;
  auto out = torch::matmul(torch::softmax(scores, -1), split(v, lk));
  return out.transpose(1, 2).reshape({batch, lq, width}).to(result_type);
}

torch::Tensor MultiheadAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& mask,
                                              const torch::Tensor& residual) {
  // With bfloat16 weights, q, k and v are bfloat16 too, as in a bfloat16 PyTorch model; the
  // scores and the softmax stay float32 (onednn_attention.h).
  const auto operands = input_type_of(in_proj_weight, x);
  auto qkv = dense(x, in_proj_weight, in_proj_bias, DenseActivation::none, {}, operands).chunk(3, -1);
  return out_proj->forward(attend(qkv[0], qkv[1], qkv[2], heads, mask, operands), residual, x.scalar_type());
}

torch::Tensor MultiheadAttentionImpl::forward_queries(const torch::Tensor& queries, const torch::Tensor& x,
                                                      const torch::Tensor& mask, const torch::Tensor& residual) {
  // in_proj_weight stacks the q, k and v projections, in that order.
  const auto width = in_proj_weight.size(1);
  const auto operands = input_type_of(in_proj_weight, x);
  auto q = dense(queries, in_proj_weight.narrow(0, 0, width), in_proj_bias.narrow(0, 0, width), DenseActivation::none,
                 {}, operands);
  auto kv = dense(x, in_proj_weight.narrow(0, width, 2 * width), in_proj_bias.narrow(0, width, 2 * width),
                  DenseActivation::none, {}, operands)
                .chunk(2, -1);
  return out_proj->forward(attend(q, kv[0], kv[1], heads, mask, operands), residual, queries.scalar_type());
}

MlpImpl::MlpImpl(int width, int hidden, Activation activation_) : activation(activation_) {
  c_fc = register_module("c_fc", LoadedLinear(width, hidden));
  c_proj = register_module("c_proj", LoadedLinear(hidden, width));
}

torch::Tensor MlpImpl::hidden(const torch::Tensor& x) {
  const auto fused = activation == Activation::quick_gelu ? DenseActivation::quick_gelu : DenseActivation::gelu_erf;
  // The hidden activations feed c_proj alone: with bfloat16 weights they are written in
  // bfloat16, the precision c_proj reads them in (see dense()).
  return dense(x, c_fc->weight, c_fc->bias, fused, {}, input_type_of(c_proj->weight, x));
}

torch::Tensor MlpImpl::project(const torch::Tensor& hidden, const torch::Tensor& residual, torch::ScalarType out_type) {
  return c_proj->forward(hidden, residual, out_type);
}

torch::Tensor MlpImpl::forward(const torch::Tensor& x, const torch::Tensor& residual) {
  return project(hidden(x), residual, x.scalar_type());
}

ResidualAttentionBlockImpl::ResidualAttentionBlockImpl(int width, int heads, int mlp_width, Activation activation,
                                                       double eps) {
  attn = register_module("attn", MultiheadAttention(width, heads));
  ln_1 = register_module("ln_1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({width}).eps(eps)));
  mlp = register_module("mlp", Mlp(width, mlp_width, activation));
  ln_2 = register_module("ln_2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({width}).eps(eps)));
}

torch::Tensor ResidualAttentionBlockImpl::attention_half(const torch::Tensor& x, const torch::Tensor& mask) {
  return attn->forward(layer_norm_fp32(x, ln_1), mask, /*residual=*/x);
}

torch::Tensor ResidualAttentionBlockImpl::attention_half_at(const torch::Tensor& x, const torch::Tensor& positions,
                                                            const torch::Tensor& mask) {
  const auto rows = torch::arange(x.size(0), positions.options());
  auto normed = layer_norm_fp32(x, ln_1);
  auto query = normed.index({rows, positions}).unsqueeze(1);          // [B, 1, W]
  // The mask rows of the queried positions, one per sequence: [B, 1, 1, L] over the heads.
  auto query_mask = mask.defined() ? mask.index_select(0, positions).unsqueeze(1).unsqueeze(1) : mask;
  return attn->forward_queries(query, normed, query_mask, /*residual=*/x.index({rows, positions}).unsqueeze(1))
      .squeeze(1);
}

torch::Tensor ResidualAttentionBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& mask) {
  auto y = attention_half(x, mask);
  return mlp->forward(layer_norm_fp32(y, ln_2), /*residual=*/y);
}

torch::Tensor ResidualAttentionBlockImpl::forward_at(const torch::Tensor& x, const torch::Tensor& positions,
                                                     const torch::Tensor& mask) {
  auto y = attention_half_at(x, positions, mask);
  return mlp->forward(layer_norm_fp32(y, ln_2), /*residual=*/y);
}

TransformerImpl::TransformerImpl(int width, int layers, int heads, int mlp, Activation activation, double eps) {
  resblocks = register_module("resblocks", torch::nn::ModuleList());
  for (int i = 0; i < layers; ++i) resblocks->push_back(ResidualAttentionBlock(width, heads, mlp, activation, eps));
}

torch::Tensor TransformerImpl::forward(torch::Tensor x, const torch::Tensor& mask) {
  for (const auto& block : *resblocks) x = block->as<ResidualAttentionBlock>()->forward(x, mask);
  return x;
}

torch::Tensor TransformerImpl::forward_at(torch::Tensor x, const torch::Tensor& positions, const torch::Tensor& mask) {
  const auto layers = resblocks->size();
  if (layers == 0) return x.index({torch::arange(x.size(0), positions.options()), positions});
  for (std::size_t i = 0; i + 1 < layers; ++i) x = resblocks[i]->as<ResidualAttentionBlock>()->forward(x, mask);
  return resblocks[layers - 1]->as<ResidualAttentionBlock>()->forward_at(x, positions, mask);
}

std::vector<torch::Tensor> TransformerImpl::forward_at_each(std::vector<torch::Tensor> xs,
                                                            const std::vector<torch::Tensor>& positions,
                                                            const std::vector<torch::Tensor>& masks) {
  const auto layers = resblocks->size();
  if (layers == 0) {
    for (std::size_t i = 0; i < xs.size(); ++i)
      xs[i] = xs[i].index({torch::arange(xs[i].size(0), positions[i].options()), positions[i]});
    return xs;
  }
  // Three stages per block, each over every batch before the next: attention (in- and
  // out-projection), c_fc, c_proj; one stage's weights at a time stay in the cache.
  std::vector<torch::Tensor> ys(xs.size()), hidden(xs.size());
  for (std::size_t layer = 0; layer < layers; ++layer) {
    auto* block = resblocks[layer]->as<ResidualAttentionBlock>();
    const bool last = layer + 1 == layers;
    for (std::size_t i = 0; i < xs.size(); ++i)
      ys[i] = last ? block->attention_half_at(xs[i], positions[i], masks[i]) : block->attention_half(xs[i], masks[i]);
    for (std::size_t i = 0; i < xs.size(); ++i) hidden[i] = block->mlp->hidden(layer_norm_fp32(ys[i], block->ln_2));
    for (std::size_t i = 0; i < xs.size(); ++i) xs[i] = block->mlp->project(hidden[i], ys[i], ys[i].scalar_type());
  }
  return xs;
}

VisionTransformerImpl::VisionTransformerImpl(const ClipConfig& c) {
  const int width = c.vision_width, grid = c.image_resolution / c.patch_size;
  conv1 = register_module("conv1", LoadedConv2d(3, width, c.patch_size, c.patch_size, /*padding=*/0));
  class_embedding = register_parameter("class_embedding", torch::empty({width}));
  positional_embedding = register_parameter("positional_embedding", torch::empty({grid * grid + 1, width}));
  ln_pre = register_module("ln_pre", torch::nn::LayerNorm(torch::nn::LayerNormOptions({width}).eps(c.layer_norm_eps)));
  transformer = register_module("transformer", Transformer(width, c.vision_layers, c.vision_heads, c.vision_mlp,
                                                           c.activation, c.layer_norm_eps));
  ln_post = register_module("ln_post", torch::nn::LayerNorm(torch::nn::LayerNormOptions({width}).eps(c.layer_norm_eps)));
  proj = register_parameter("proj", torch::empty({width, c.embed_dim}));
}

// conv1's stride is its kernel, so each output is one patch's pixels times the kernel: a
// dense product of the patches, [B·grid², 3·p·p], with the kernel read as [width, 3·p·p]
// (the same sums in another order). LibTorch's convolution re-lays-out its 9 MB ViT-B/32
// kernel on every call, 2.8 ms per one-image batch on a Zen 5; the product reads a packed
// copy of it (packed_weights.h).
torch::Tensor VisionTransformerImpl::embed_patches(const torch::Tensor& pixels) {
  const auto& kernel = conv1->weight;  // [width, 3, p, p]
  const auto batch = pixels.size(0), channels = pixels.size(1), p = kernel.size(-1);
  if (pixels.size(2) != pixels.size(3) || pixels.size(2) % p != 0 || conv1->padding != 0 || conv1->stride != p) {
    // A bfloat16 kernel reads bfloat16 pixels, as the product below does.
    return conv1->forward(pixels.to(kernel.scalar_type())).to(pixels.scalar_type()).flatten(2).transpose(1, 2);
  }
  const auto grid = pixels.size(2) / p;
  auto patches = pixels.reshape({batch, channels, grid, p, grid, p})
                     .permute({0, 2, 4, 1, 3, 5})  // [B, row, column, channel, y, x]
                     .reshape({batch * grid * grid, channels * p * p});
  return dense(patches, kernel.reshape({kernel.size(0), -1})).view({batch, grid * grid, kernel.size(0)});
}

torch::Tensor VisionTransformerImpl::embed_tokens(const torch::Tensor& pixels) {
  auto x = embed_patches(pixels);                      // [B, grid^2, width]
  auto cls = class_embedding.to(x.scalar_type()).expand({x.size(0), 1, x.size(2)});
  x = torch::cat({cls, x}, 1) + positional_embedding.to(x.scalar_type());
  return layer_norm_fp32(x, ln_pre);
}

torch::Tensor VisionTransformerImpl::class_positions(const torch::Tensor& x) {
  return torch::zeros({x.size(0)}, torch::TensorOptions().dtype(torch::kInt64).device(x.device()));
}

torch::Tensor VisionTransformerImpl::project(const torch::Tensor& pooled) {
  return dense(layer_norm_fp32(pooled, ln_post), proj.t());
}

torch::Tensor VisionTransformerImpl::forward(const torch::Tensor& pixels) {
  auto x = embed_tokens(pixels);
  return project(transformer->forward_at(x, class_positions(x)));
}

std::vector<torch::Tensor> VisionTransformerImpl::forward_each(const std::vector<torch::Tensor>& pixels) {
  std::vector<torch::Tensor> xs, positions;
  for (const auto& batch : pixels) {
    xs.push_back(embed_tokens(batch));
    positions.push_back(class_positions(xs.back()));
  }
  auto pooled = transformer->forward_at_each(std::move(xs), positions, std::vector<torch::Tensor>(pixels.size()));
  for (auto& p : pooled) p = project(p);
  return pooled;
}

FrozenBatchNormImpl::FrozenBatchNormImpl(int channels) {
  weight = register_parameter("weight", torch::ones({channels}));
  bias = register_parameter("bias", torch::zeros({channels}));
  running_mean = register_buffer("running_mean", torch::zeros({channels}));
  running_var = register_buffer("running_var", torch::ones({channels}));
}

torch::Tensor FrozenBatchNormImpl::forward(const torch::Tensor& x) {
  return torch::batch_norm(x, weight, bias, running_mean, running_var, /*training=*/false, /*momentum=*/0.1,
                           /*eps=*/1e-5, /*cudnn_enabled=*/true);
}

static LoadedConv2d conv(int in, int out, int kernel, int stride = 1) {
  return LoadedConv2d(in, out, kernel, stride, kernel / 2);
}

BottleneckImpl::BottleneckImpl(int inplanes, int planes, int stride_) : stride(stride_) {
  constexpr int expansion = 4;
  conv1 = register_module("conv1", conv(inplanes, planes, 1));
  bn1 = register_module("bn1", FrozenBatchNorm(planes));
  conv2 = register_module("conv2", conv(planes, planes, 3));
  bn2 = register_module("bn2", FrozenBatchNorm(planes));
  conv3 = register_module("conv3", conv(planes, planes * expansion, 1));
  bn3 = register_module("bn3", FrozenBatchNorm(planes * expansion));
  if (stride > 1 || inplanes != planes * expansion) {
    // OpenAI names these "-1" (AvgPool2d, no parameters), "0" (conv) and "1" (BN); the pool
    // is applied in forward() so that the parameter names stay "downsample.0/1".
    downsample = register_module("downsample", torch::nn::Sequential(conv(inplanes, planes * expansion, 1),
                                                                     FrozenBatchNorm(planes * expansion)));
  }
}

torch::Tensor BottleneckImpl::forward(const torch::Tensor& x) {
  auto out = torch::relu(bn1->forward(conv1->forward(x)));
  out = torch::relu(bn2->forward(conv2->forward(out)));
  if (stride > 1) out = torch::avg_pool2d(out, stride);
  out = bn3->forward(conv3->forward(out));
  auto identity = x;
  if (downsample) identity = downsample->forward(stride > 1 ? torch::avg_pool2d(x, stride) : x);
  return torch::relu(out + identity);
}

AttentionPool2dImpl::AttentionPool2dImpl(int spacial_dim, int embed_dim, int heads_, int output_dim) : heads(heads_) {
  positional_embedding = register_parameter("positional_embedding", torch::empty({spacial_dim * spacial_dim + 1, embed_dim}));
  k_proj = register_module("k_proj", LoadedLinear(embed_dim, embed_dim));
  q_proj = register_module("q_proj", LoadedLinear(embed_dim, embed_dim));
  v_proj = register_module("v_proj", LoadedLinear(embed_dim, embed_dim));
  c_proj = register_module("c_proj", LoadedLinear(embed_dim, output_dim));
}

torch::Tensor AttentionPool2dImpl::forward(const torch::Tensor& input) {
  auto x = input.flatten(2).transpose(1, 2);          // [B, HW, C]
  x = torch::cat({x.mean(1, /*keepdim=*/true), x}, 1);  // [B, HW+1, C]
  x = x + positional_embedding.to(x.scalar_type());
  // Only the mean token queries; every token is a key and a value.
  auto q = q_proj->forward(x.narrow(1, 0, 1));
  auto out = attend(q, k_proj->forward(x), v_proj->forward(x), heads, {}, x.scalar_type());
  return c_proj->forward(out).squeeze(1);
}

ModifiedResNetImpl::ModifiedResNetImpl(const ClipConfig& c) {
  const int width = c.vision_width;
  conv1 = register_module("conv1", conv(3, width / 2, 3, 2));
  bn1 = register_module("bn1", FrozenBatchNorm(width / 2));
  conv2 = register_module("conv2", conv(width / 2, width / 2, 3));
  bn2 = register_module("bn2", FrozenBatchNorm(width / 2));
  conv3 = register_module("conv3", conv(width / 2, width, 3));
  bn3 = register_module("bn3", FrozenBatchNorm(width));
  int inplanes = width;
  auto make_layer = [&](int planes, int blocks, int stride) {
    torch::nn::Sequential layer;
    layer->push_back(Bottleneck(inplanes, planes, stride));
    inplanes = planes * 4;
    for (int i = 1; i < blocks; ++i) layer->push_back(Bottleneck(inplanes, planes, 1));
    return layer;
  };
  layer1 = register_module("layer1", make_layer(width, c.resnet_layers[0], 1));
  layer2 = register_module("layer2", make_layer(width * 2, c.resnet_layers[1], 2));
  layer3 = register_module("layer3", make_layer(width * 4, c.resnet_layers[2], 2));
  layer4 = register_module("layer4", make_layer(width * 8, c.resnet_layers[3], 2));
  attnpool = register_module("attnpool", AttentionPool2d(c.image_resolution / 32, width * 32, c.vision_heads, c.embed_dim));
}

torch::Tensor ModifiedResNetImpl::forward(const torch::Tensor& pixels) {
  auto x = torch::relu(bn1->forward(conv1->forward(pixels)));
  x = torch::relu(bn2->forward(conv2->forward(x)));
  x = torch::relu(bn3->forward(conv3->forward(x)));
  x = torch::avg_pool2d(x, 2);
  x = layer4->forward(layer3->forward(layer2->forward(layer1->forward(x))));
  return attnpool->forward(x);
}

ClipImpl::ClipImpl(const ClipConfig& c) : config(c) {
  if (c.vit) vit = register_module("visual", VisionTransformer(c));
  else resnet = register_module("visual", ModifiedResNet(c));
  transformer = register_module("transformer", Transformer(c.text_width, c.text_layers, c.text_heads, c.text_mlp,
                                                           c.activation, c.layer_norm_eps));
  token_embedding = register_module("token_embedding", LoadedEmbedding(c.vocab_size, c.text_width));
  positional_embedding = register_parameter("positional_embedding", torch::empty({c.context_length, c.text_width}));
  ln_final = register_module("ln_final", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.text_width}).eps(c.layer_norm_eps)));
  text_projection = register_parameter("text_projection", torch::empty({c.text_width, c.embed_dim}));
  logit_scale = register_parameter("logit_scale", torch::ones({}));
}

torch::Tensor ClipImpl::encode_image(const torch::Tensor& pixels) {
  return vit ? vit->forward(pixels) : resnet->forward(pixels);
}

std::vector<torch::Tensor> ClipImpl::encode_image_each(const std::vector<torch::Tensor>& pixels) {
  if (vit) return vit->forward_each(pixels);
  std::vector<torch::Tensor> out;
  for (const auto& batch : pixels) out.push_back(resnet->forward(batch));
  return out;
}

ClipImpl::TextInput ClipImpl::embed_tokens(const torch::Tensor& all_ids) {
  // Pool at the end-of-text token: the highest id in CLIP's vocabulary (argmax, as OpenAI).
  auto eot = all_ids.argmax(-1);
  // Under the causal mask no position sees a later one, so the tokens after the last
  // end-of-text of the batch (padding) cannot change the pooled outputs: drop them.
  // Captions are short, so this skips most of the 77-token context.
  const auto length = eot.max().item<std::int64_t>() + 1;
  auto ids = all_ids.narrow(1, 0, length);
  const auto dtype = positional_embedding.scalar_type();
  auto x = token_embedding->forward(ids) + positional_embedding.narrow(0, 0, length);
  // Causal mask: position i attends to positions <= i.
  auto mask = torch::full({length, length}, -std::numeric_limits<float>::infinity(),
                          torch::TensorOptions().dtype(dtype).device(ids.device()))
                  .triu(1);
  return {x, eot, mask};
}

torch::Tensor ClipImpl::project_text(const torch::Tensor& pooled) {
  return dense(layer_norm_fp32(pooled, ln_final), text_projection.t());
}

torch::Tensor ClipImpl::encode_text(const torch::Tensor& ids) {
  const auto in = embed_tokens(ids);
  return project_text(transformer->forward_at(in.x, in.end_of_text, in.mask));
}

std::vector<torch::Tensor> ClipImpl::encode_text_each(const std::vector<torch::Tensor>& ids) {
  std::vector<torch::Tensor> xs, positions, masks;
  for (const auto& batch : ids) {
    auto in = embed_tokens(batch);
    xs.push_back(std::move(in.x));
    positions.push_back(std::move(in.end_of_text));
    masks.push_back(std::move(in.mask));
  }
  auto pooled = transformer->forward_at_each(std::move(xs), positions, masks);
  for (auto& p : pooled) p = project_text(p);
  return pooled;
}

void round_dense_weights_to_bfloat16(ClipImpl& clip) {
  torch::NoGradGuard no_grad;
  auto round = [](torch::Tensor& t) { t.set_data(t.to(torch::kBFloat16)); };
  for (const auto& module : clip.modules(/*include_self=*/true)) {
    if (auto* linear = module->as<LoadedLinearImpl>()) round(linear->weight);
    if (auto* attention = module->as<MultiheadAttentionImpl>()) round(attention->in_proj_weight);
    if (auto* vit = module->as<VisionTransformerImpl>()) {
      round(vit->proj);
      round(vit->conv1->weight);  // a dense product of the patches (embed_patches)
    }
  }
  round(clip.text_projection);
}

}  // namespace recap::models::detail
