// T5 forward passes, line for line with Hugging Face's modeling_t5.py (dropout omitted:
// inference only).
#include "t5_modules.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <limits>

#include "recap/common/error.h"
#include "step_attention.h"

namespace recap::models::detail {

namespace {

T5Config parse_config(const nlohmann::json& j, const std::string& source) {
  const std::string type = j.value("model_type", std::string());
  if (type != "t5" && type != "mt5") {
    throw InputError(source + ": not a T5 model config (model_type \"" + type + "\"; expected \"t5\" or \"mt5\")");
  }
  // Sizes are bounded well above any published T5 (mT5-XXL: vocabulary 250,112, d_ff
  // 10,240; T5 v1.0 11B: d_ff 65,536) and well below what int arithmetic can hold.
  constexpr std::int64_t kMaxSize = std::int64_t(1) << 24;
  auto need_int = [&](const char* key) -> std::int64_t {
    if (!j.contains(key) || !j[key].is_number_integer() || j[key].get<std::int64_t>() <= 0 ||
        j[key].get<std::int64_t>() > kMaxSize) {
      throw InputError(source + ": T5 config needs a positive integer \"" + key + "\" of at most " +
                       std::to_string(kMaxSize));
    }
    return j[key].get<std::int64_t>();
  };
  auto optional_int = [&](const char* key, std::int64_t fallback) -> std::int64_t {
    if (!j.contains(key) || j[key].is_null()) return fallback;
    if (!j[key].is_number_integer() || j[key].get<std::int64_t>() < 0 || j[key].get<std::int64_t>() > kMaxSize)
      throw InputError(source + ": T5 config \"" + key + "\" must be an integer from 0 to " + std::to_string(kMaxSize));
    return j[key].get<std::int64_t>();
  };
  T5Config c;
  c.vocab_size = need_int("vocab_size");
  c.d_model = static_cast<int>(need_int("d_model"));
  c.d_kv = static_cast<int>(need_int("d_kv"));
  c.d_ff = static_cast<int>(need_int("d_ff"));
  c.num_heads = static_cast<int>(need_int("num_heads"));
  c.num_layers = static_cast<int>(need_int("num_layers"));
  c.num_decoder_layers = j.contains("num_decoder_layers") && !j["num_decoder_layers"].is_null()
                             ? static_cast<int>(need_int("num_decoder_layers"))
                             : c.num_layers;
  c.relative_attention_num_buckets = static_cast<int>(optional_int("relative_attention_num_buckets", 32));
  c.relative_attention_max_distance = static_cast<int>(optional_int("relative_attention_max_distance", 128));
  if (c.relative_attention_num_buckets < 4 || c.relative_attention_max_distance < c.relative_attention_num_buckets / 2) {
    throw InputError(source + ": implausible relative attention buckets/max distance");
  }
  c.layer_norm_epsilon = j.value("layer_norm_epsilon", 1e-6);
  // "relu" (T5 v1.0), "gated-gelu" (v1.1 / FLAN-T5), "gated-silu", ...: the part after the
  // dash names the activation, and gated-gelu means the tanh approximation (gelu_new).
  const std::string proj = j.value("feed_forward_proj", std::string("relu"));
  const auto dash = proj.find('-');
  c.gated = dash != std::string::npos && proj.substr(0, dash) == "gated";
  if (dash != std::string::npos && !c.gated) throw InputError(source + ": unknown feed_forward_proj \"" + proj + "\"");
  std::string act = dash == std::string::npos ? proj : proj.substr(dash + 1);
  if (proj == "gated-gelu") act = "gelu_new";
  if (j.contains("dense_act_fn") && j["dense_act_fn"].is_string()) act = j["dense_act_fn"].get<std::string>();
  if (act == "relu") c.activation = T5Activation::relu;
  else if (act == "gelu_new" || act == "gelu_pytorch_tanh") c.activation = T5Activation::gelu_new;
  else if (act == "gelu") c.activation = T5Activation::gelu;
  else if (act == "silu" || act == "swish") c.activation = T5Activation::silu;
  else throw InputError(source + ": unsupported feed-forward activation \"" + act + "\"");
  const bool tied = j.value("tie_word_embeddings", true);
  c.scale_decoder_outputs = j.contains("scale_decoder_outputs") && j["scale_decoder_outputs"].is_boolean()
                                ? j["scale_decoder_outputs"].get<bool>()
                                : tied;
  c.decoder_start_token_id = optional_int("decoder_start_token_id", 0);
  c.eos_token_id = j.contains("eos_token_id") && j["eos_token_id"].is_number_integer() ? j["eos_token_id"].get<std::int64_t>() : 1;
  c.pad_token_id = optional_int("pad_token_id", 0);
  return c;
}

}  // namespace

T5Config T5Config::from_json(const std::string& text, const std::string& source) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw InputError(source + ": not valid JSON (" + std::string(e.what()) + ")");
  }
  if (!j.is_object()) throw InputError(source + ": not a JSON object");
  try {
    return parse_config(j, source);
  } catch (const nlohmann::json::exception& e) {  // a value of the wrong type, e.g. "model_type": 5
    throw InputError(source + ": a config value has the wrong type (" + std::string(e.what()) + ")");
  }
}

std::string T5Config::feed_forward_name() const {
  const char* names[] = {"relu", "gelu_new", "gelu", "silu"};
  return std::string(gated ? "gated-" : "") + names[static_cast<int>(activation)];
}

T5LayerNormImpl::T5LayerNormImpl(int d_model, double eps_) : eps(eps_) {
  weight = register_parameter("weight", torch::ones({d_model}));
}

torch::Tensor T5LayerNormImpl::forward(const torch::Tensor& x) {
  const auto variance = x.to(torch::kFloat32).pow(2).mean(-1, /*keepdim=*/true);
  auto h = x * torch::rsqrt(variance + eps);
  if (weight.scalar_type() == torch::kFloat16 || weight.scalar_type() == torch::kBFloat16) h = h.to(weight.scalar_type());
  return weight * h;
}

torch::Tensor relative_position_bucket(const torch::Tensor& relative_position, bool bidirectional, int num_buckets,
                                       int max_distance) {
  auto buckets = torch::zeros_like(relative_position);
  auto rp = relative_position;
  if (bidirectional) {
    num_buckets /= 2;
    buckets = buckets + (rp > 0).to(torch::kLong) * num_buckets;
    rp = rp.abs();
  } else {
    rp = -torch::min(rp, torch::zeros_like(rp));
  }
  const int max_exact = num_buckets / 2;
  const auto is_small = rp < max_exact;
  // The same float32 operations as the reference, so that boundary positions fall in the
  // same bucket (log of 0 for the small positions is discarded by the where below).
  auto large = max_exact + (torch::log(rp.to(torch::kFloat32) / max_exact) /
                            std::log(static_cast<double>(max_distance) / max_exact) * (num_buckets - max_exact))
                               .to(torch::kLong);
  large = torch::min(large, torch::full_like(large, num_buckets - 1));
  return buckets + torch::where(is_small, rp, large);
}

T5AttentionImpl::T5AttentionImpl(const T5Config& c, bool has_relative_bias)
    : heads(c.num_heads), d_kv(c.d_kv), num_buckets(c.relative_attention_num_buckets),
      max_distance(c.relative_attention_max_distance) {
  const int inner = c.num_heads * c.d_kv;
  q = register_module("q", LoadedLinear(c.d_model, inner, /*with_bias=*/false));
  k = register_module("k", LoadedLinear(c.d_model, inner, /*with_bias=*/false));
  v = register_module("v", LoadedLinear(c.d_model, inner, /*with_bias=*/false));
  o = register_module("o", LoadedLinear(inner, c.d_model, /*with_bias=*/false));
  if (has_relative_bias) {
    relative_attention_bias =
        register_module("relative_attention_bias", LoadedEmbedding(c.relative_attention_num_buckets, c.num_heads));
  }
}

torch::Tensor T5AttentionImpl::project(LoadedLinear& proj, const torch::Tensor& x) const {
  return proj->forward(x).view({x.size(0), -1, heads, d_kv}).transpose(1, 2);
}

torch::Tensor T5AttentionImpl::attend(const torch::Tensor& qh, const torch::Tensor& kh, const torch::Tensor& vh,
                                      const torch::Tensor& bias) {
  torch::Tensor out;  // [B, H, Lq, dk]
  if (single_query_attention_applies(qh, kh, vh)) {
    out = single_query_attention(qh, kh, vh, bias);  // a decoding step
  } else {
    auto scores = torch::matmul(qh, kh.transpose(2, 3));  // no 1/sqrt(d_kv): T5 folds it into the init
    scores = scores + bias;
    const auto weights = torch::softmax(scores.to(torch::kFloat32), -1).to(scores.scalar_type());
    out = torch::matmul(weights, vh);
  }
  out = out.transpose(1, 2).contiguous().view({qh.size(0), -1, heads * d_kv});
  return o->forward(out);
}

torch::Tensor T5AttentionImpl::compute_bias(std::int64_t q_len, std::int64_t k_len, std::int64_t offset,
                                            bool bidirectional, const torch::Device& device, torch::Dtype dtype) {
  const auto opts = torch::TensorOptions().dtype(torch::kLong).device(device);
  const auto context = torch::arange(offset, offset + q_len, opts).unsqueeze(1);
  const auto memory = torch::arange(k_len, opts).unsqueeze(0);
  const auto buckets = relative_position_bucket(memory - context, bidirectional, num_buckets, max_distance);
  auto values = relative_attention_bias->forward(buckets);       // [q, k, H]
  return values.permute({2, 0, 1}).unsqueeze(0).to(dtype);        // [1, H, q, k]
}

T5DenseImpl::T5DenseImpl(const T5Config& c) : activation(c.activation) {
  auto linear = [](int in, int out) { return LoadedLinear(in, out, /*with_bias=*/false); };
  if (c.gated) {
    wi_0 = register_module("wi_0", linear(c.d_model, c.d_ff));
    wi_1 = register_module("wi_1", linear(c.d_model, c.d_ff));
  } else {
    wi = register_module("wi", linear(c.d_model, c.d_ff));
  }
  wo = register_module("wo", linear(c.d_ff, c.d_model));
}

namespace {
torch::Tensor activate(const torch::Tensor& x, T5Activation a) {
  switch (a) {
    case T5Activation::relu: return torch::relu(x);
    case T5Activation::gelu_new: return torch::gelu(x, "tanh");
    case T5Activation::gelu: return torch::gelu(x);
    case T5Activation::silu: return torch::silu(x);
  }
  return x;
}

// Hugging Face clamps float16 activations to stay finite.
torch::Tensor clamp_fp16(const torch::Tensor& x) {
  if (x.scalar_type() != torch::kFloat16) return x;
  const double limit = 65504.0 - 1000.0;
  return torch::clamp(x, -limit, limit);
}
}  // namespace

torch::Tensor T5DenseImpl::forward(const torch::Tensor& x) {
  torch::Tensor h = wi_0 ? activate(wi_0->forward(x), activation) * wi_1->forward(x) : activate(wi->forward(x), activation);
  return wo->forward(h.to(wo->weight.scalar_type()));
}

T5LayerFFImpl::T5LayerFFImpl(const T5Config& c) {
  DenseReluDense = register_module("DenseReluDense", T5Dense(c));
  layer_norm = register_module("layer_norm", T5LayerNorm(c.d_model, c.layer_norm_epsilon));
}

torch::Tensor T5LayerFFImpl::forward(const torch::Tensor& x) { return x + DenseReluDense->forward(layer_norm->forward(x)); }

T5LayerAttentionImpl::T5LayerAttentionImpl(const T5Config& c, const std::string& name, bool has_relative_bias) {
  attention = register_module(name, T5Attention(c, has_relative_bias));
  layer_norm = register_module("layer_norm", T5LayerNorm(c.d_model, c.layer_norm_epsilon));
}

T5BlockImpl::T5BlockImpl(const T5Config& c, bool decoder, bool has_relative_bias) {
  auto layers = register_module("layer", torch::nn::ModuleList());
  self_attention = T5LayerAttention(c, "SelfAttention", has_relative_bias);
  layers->push_back(self_attention);
  if (decoder) {
    cross_attention = T5LayerAttention(c, "EncDecAttention", false);
    layers->push_back(cross_attention);
  }
  ff = T5LayerFF(c);
  layers->push_back(ff);
}

T5StackImpl::T5StackImpl(const T5Config& c, bool decoder) {
  auto list = register_module("block", torch::nn::ModuleList());
  const int n = decoder ? c.num_decoder_layers : c.num_layers;
  for (int i = 0; i < n; ++i) {
    blocks.push_back(T5Block(c, decoder, i == 0));
    list->push_back(blocks.back());
  }
  final_layer_norm = register_module("final_layer_norm", T5LayerNorm(c.d_model, c.layer_norm_epsilon));
}

void DecoderCache::reorder(const torch::Tensor& rows) {
  for (auto* list : {&self_k, &self_v})
    for (auto& t : *list)
      if (t.defined()) t = t.index_select(0, rows);
}

std::pair<torch::Tensor, torch::Tensor> DecoderCache::append_self(std::size_t i, const torch::Tensor& k,
                                                                   const torch::Tensor& v) {
  auto& kc = self_k[i];
  auto& vc = self_v[i];
  const auto steps = k.size(2), total = length + steps;
  const bool buffered = reserve > 0 && !(torch::GradMode::is_enabled() && (k.requires_grad() || v.requires_grad()));
  if (!buffered) {
    kc = kc.defined() ? torch::cat({kc, k}, 2) : k;
    vc = vc.defined() ? torch::cat({vc, v}, 2) : v;
    return {kc, vc};
  }
  if (!kc.defined() || kc.size(2) < total) {  // first step, or past the reserve: a larger buffer
    const auto capacity = std::max(total, std::max(reserve, kc.defined() ? 2 * kc.size(2) : std::int64_t(0)));
    for (auto* c : {&kc, &vc}) {
      auto grown = torch::empty({k.size(0), k.size(1), capacity, k.size(3)}, k.options());
      if (c->defined() && length > 0) grown.narrow(2, 0, length).copy_(c->narrow(2, 0, length));
      *c = grown;
    }
  }
  kc.narrow(2, length, steps).copy_(k);
  vc.narrow(2, length, steps).copy_(v);
  return {kc.narrow(2, 0, total), vc.narrow(2, 0, total)};
}

void DecoderCache::repeat_each(std::int64_t times) {
  rows_per_input *= times;
  for (auto* list : {&self_k, &self_v})
    for (auto& t : *list)
      if (t.defined()) t = t.repeat_interleave(times, 0);
}

T5Impl::T5Impl(const T5Config& c, bool own_lm_head) : config(c) {
  shared = register_module("shared", LoadedEmbedding(c.vocab_size, c.d_model));
  encoder = register_module("encoder", T5Stack(c, false));
  decoder = register_module("decoder", T5Stack(c, true));
  if (own_lm_head) {
    lm_head = register_module("lm_head", LoadedLinear(c.d_model, c.vocab_size, /*with_bias=*/false));
  }
}

torch::Tensor T5Impl::padding_bias(const torch::Tensor& mask, std::int64_t batch, std::int64_t length) const {
  const auto dtype = shared->weight.scalar_type();
  const auto opts = torch::TensorOptions().dtype(dtype).device(shared->weight.device());
  if (!mask.defined()) return torch::zeros({batch, 1, 1, length}, opts);
  const double lowest = dtype == torch::kFloat16    ? -65504.0
                        : dtype == torch::kBFloat16 ? -3.38953139e38
                                                    : static_cast<double>(std::numeric_limits<float>::lowest());
  return ((1 - mask.to(dtype)) * lowest).view({batch, 1, 1, length});
}

torch::Tensor T5Impl::encode(const torch::Tensor& ids, const torch::Tensor& mask) {
  const auto batch = ids.size(0), length = ids.size(1);
  auto h = shared->forward(ids);
  auto& first = encoder->blocks.front()->self_attention->attention;
  const auto bias = first->compute_bias(length, length, 0, /*bidirectional=*/true, h.device(), h.scalar_type()) +
                    padding_bias(mask, batch, length);
  for (auto& block : encoder->blocks) {
    auto& sa = block->self_attention;
    auto& att = sa->attention;
    const auto normed = sa->layer_norm->forward(h);
    h = clamp_fp16(h + att->attend(att->project(att->q, normed), att->project(att->k, normed),
                                   att->project(att->v, normed), bias));
    h = clamp_fp16(block->ff->forward(h));
  }
  return encoder->final_layer_norm->forward(h);
}

DecoderCache T5Impl::start_decoder(const torch::Tensor& encoder_states, const torch::Tensor& encoder_mask) {
  DecoderCache cache;
  const auto n = decoder->blocks.size();
  cache.self_k.resize(n);
  cache.self_v.resize(n);
  // Stored contiguous as [B, H, L, dk]: every decoding step multiplies by them, and the
  // projection's transposed view made torch::matmul copy both, every layer and step (2.7 GB
  // of fresh pages per step for 16 prompts x 36 samples, most of the sampling time).
  for (auto& block : decoder->blocks) {
    auto& att = block->cross_attention->attention;
    cache.cross_k.push_back(att->project(att->k, encoder_states).contiguous());
    cache.cross_v.push_back(att->project(att->v, encoder_states).contiguous());
  }
  cache.cross_bias = padding_bias(encoder_mask, encoder_states.size(0), encoder_states.size(1));
  return cache;
}

torch::Tensor T5Impl::decode(const torch::Tensor& ids, DecoderCache& cache) {
  const auto steps = ids.size(1);
  const auto past = cache.length;
  auto h = shared->forward(ids);
  // Position bias and causal mask, once per call for the whole stack.
  auto& first = decoder->blocks.front()->self_attention->attention;
  auto self_bias = first->compute_bias(steps, past + steps, past, /*bidirectional=*/false, h.device(), h.scalar_type());
  if (steps > 1) {
    const auto opts = torch::TensorOptions().dtype(torch::kLong).device(h.device());
    const auto query = torch::arange(past, past + steps, opts).unsqueeze(1);
    const auto key = torch::arange(past + steps, opts).unsqueeze(0);
    const double lowest = h.scalar_type() == torch::kFloat16 ? -65504.0 : static_cast<double>(std::numeric_limits<float>::lowest());
    self_bias = self_bias + (key > query).to(h.scalar_type()) * lowest;
  }
  for (std::size_t i = 0; i < decoder->blocks.size(); ++i) {
    auto& block = decoder->blocks[i];
    {
      auto& sa = block->self_attention;
      auto& att = sa->attention;
      const auto normed = sa->layer_norm->forward(h);
      const auto [k, v] = cache.append_self(i, att->project(att->k, normed), att->project(att->v, normed));
      h = clamp_fp16(h + att->attend(att->project(att->q, normed), k, v, self_bias));
    }
    {
      auto& ca = block->cross_attention;
      auto& att = ca->attention;
      const auto normed = ca->layer_norm->forward(h);
      auto q = att->project(att->q, normed);  // [rows, H, steps, dk]
      const auto group = cache.rows_per_input;
      if (group == 1) {
        h = clamp_fp16(h + att->attend(q, cache.cross_k[i], cache.cross_v[i], cache.cross_bias));
      } else {
        // A group's queries as one sequence of group x steps positions against its input.
        const auto inputs = q.size(0) / group, heads = q.size(1), dk = q.size(3);
        q = q.reshape({inputs, group, heads, steps, dk}).permute({0, 2, 1, 3, 4}).reshape({inputs, heads, group * steps, dk});
        const auto out = att->attend(q, cache.cross_k[i], cache.cross_v[i], cache.cross_bias);  // [inputs, group x steps, D]
        h = clamp_fp16(h + out.view({inputs * group, steps, out.size(2)}));
      }
    }
    h = clamp_fp16(block->ff->forward(h));
  }
  cache.length = past + steps;
  return decoder->final_layer_norm->forward(h);
}

torch::Tensor T5Impl::head(const torch::Tensor& hidden) {
  auto h = config.scale_decoder_outputs ? hidden * std::pow(static_cast<double>(config.d_model), -0.5) : hidden;
  return lm_head ? lm_head->forward(h) : dense(h, shared->weight);
}

}  // namespace recap::models::detail
