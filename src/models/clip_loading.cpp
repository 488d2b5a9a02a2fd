// Reading CLIP weights in any of the common layouts into OpenAI-named tensors and the
// architecture they imply; loading them onto the native modules, and their fingerprint.
#include "clip_loading.h"

#include <torch/script.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <regex>
#include <set>

#include "recap/common/error.h"
#include "recap/io/json_file.h"

namespace fs = std::filesystem;

namespace recap::models::detail {
namespace {

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }
bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

const torch::Tensor& need(const StateDict& state, const std::string& key, const std::string& source) {
  auto it = state.find(key);
  if (it == state.end()) throw InputError(source + ": not a CLIP state dict (no \"" + key + "\")");
  return it->second;
}

// Distinct values of the path component after `prefix` ("transformer.resblocks." -> 0, 1, ...).
int count_indices(const StateDict& state, const std::string& prefix) {
  std::set<std::string> seen;
  for (const auto& [key, value] : state) {
    if (!starts_with(key, prefix)) continue;
    seen.insert(key.substr(prefix.size(), key.find('.', prefix.size()) - prefix.size()));
  }
  return static_cast<int>(seen.size());
}

int heads_by_rule(int width, int given, const char* what, const std::string& source) {
  if (given > 0) return given;
  if (width / 64 <= 0) {
    throw InputError(source + ": cannot infer the " + std::string(what) + " attention heads (width " +
                     std::to_string(width) + " < 64 and the file does not say); pass them explicitly");
  }
  return width / 64;
}

// OpenAI's build_model(): every size from the state dict's shapes. `text_heads` and
// `vision_heads` (0 = unknown) come from the file where it records them.
ClipConfig infer_openai_config(const StateDict& state, int text_heads, int vision_heads, const std::string& source) {
  ClipConfig c;
  c.vit = state.count("visual.proj") > 0;
  if (c.vit) {
    const auto& conv1 = need(state, "visual.conv1.weight", source);
    c.vision_width = static_cast<int>(conv1.size(0));
    c.patch_size = static_cast<int>(conv1.size(-1));
    c.vision_layers = count_indices(state, "visual.transformer.resblocks.");
    const auto tokens = need(state, "visual.positional_embedding", source).size(0);
    const int grid = static_cast<int>(std::lround(std::sqrt(static_cast<double>(tokens - 1))));
    c.image_resolution = c.patch_size * grid;
    c.vision_mlp = static_cast<int>(need(state, "visual.transformer.resblocks.0.mlp.c_fc.weight", source).size(0));
    c.vision_heads = heads_by_rule(c.vision_width, vision_heads, "vision", source);
  } else {
    for (int b = 0; b < 4; ++b) c.resnet_layers[b] = count_indices(state, "visual.layer" + std::to_string(b + 1) + ".");
    c.vision_width = static_cast<int>(need(state, "visual.layer1.0.conv1.weight", source).size(0));
    const auto tokens = need(state, "visual.attnpool.positional_embedding", source).size(0);
    c.image_resolution = 32 * static_cast<int>(std::lround(std::sqrt(static_cast<double>(tokens - 1))));
    c.vision_heads = vision_heads > 0 ? vision_heads : c.vision_width * 32 / 64;
    if (c.vision_heads <= 0) throw InputError(source + ": cannot infer the attention-pool heads; pass them explicitly");
  }
  c.embed_dim = static_cast<int>(need(state, "text_projection", source).size(1));
  c.context_length = static_cast<int>(need(state, "positional_embedding", source).size(0));
  c.vocab_size = static_cast<int>(need(state, "token_embedding.weight", source).size(0));
  c.text_width = static_cast<int>(need(state, "ln_final.weight", source).size(0));
  c.text_layers = count_indices(state, "transformer.resblocks.");
  c.text_mlp = static_cast<int>(need(state, "transformer.resblocks.0.mlp.c_fc.weight", source).size(0));
  c.text_heads = heads_by_rule(c.text_width, text_heads, "text", source);
  // Attention splits the width into equal heads; anything else cannot be this model's.
  // (The ResNet's attention pool splits the embedding width 32 x vision_width.)
  const int pooled_width = c.vit ? c.vision_width : c.vision_width * 32;
  if (c.vision_heads <= 0 || pooled_width % c.vision_heads != 0)
    throw InputError(source + ": " + std::to_string(c.vision_heads) + " vision attention heads do not divide the width " +
                     std::to_string(pooled_width) + " (check num_attention_heads or --vision-heads)");
  if (c.text_heads <= 0 || c.text_width % c.text_heads != 0)
    throw InputError(source + ": " + std::to_string(c.text_heads) + " text attention heads do not divide the width " +
                     std::to_string(c.text_width) + " (check num_attention_heads or --text-heads)");
  return c;
}

// Heads of a traced nn.MultiheadAttention / AttentionPool2d: the constant that the
// embedding width is divided by (head_dim = width // heads) in its graph.
int traced_heads(const torch::jit::Module& root, const std::vector<std::string>& path) {
  torch::jit::Module m = root;
  for (const auto& name : path) {
    if (!m.hasattr(name)) return 0;
    auto value = m.attr(name);
    if (!value.isModule()) return 0;
    m = value.toModule();
  }
  auto method = m.find_method("forward");
  if (!method) return 0;
  for (const torch::jit::Node* node : method->graph()->nodes()) {
    if (node->kind() != c10::Symbol::fromQualString("aten::div") || node->inputs().size() != 3) continue;
    auto value = torch::jit::toIValue(node->input(1));
    if (value && value->isTensor() && value->toTensor().numel() == 1) return static_cast<int>(value->toTensor().item<int64_t>());
    if (value && value->isInt()) return static_cast<int>(value->toInt());
  }
  return 0;
}

// Hugging Face CLIPModel names -> OpenAI names; q/k/v projections fused as in_proj.
StateDict hf_to_openai(const StateDict& hf, const std::string& source) {
  StateDict out;
  static const std::vector<std::pair<std::string, std::string>> renames = {
      {"text_model.embeddings.token_embedding.weight", "token_embedding.weight"},
      {"text_model.embeddings.position_embedding.weight", "positional_embedding"},
      {"text_model.final_layer_norm.", "ln_final."},
      {"vision_model.embeddings.class_embedding", "visual.class_embedding"},
      {"vision_model.embeddings.patch_embedding.weight", "visual.conv1.weight"},
      {"vision_model.embeddings.position_embedding.weight", "visual.positional_embedding"},
      {"vision_model.pre_layrnorm.", "visual.ln_pre."},
      {"vision_model.post_layernorm.", "visual.ln_post."},
      {"logit_scale", "logit_scale"},
  };
  static const std::regex layer(R"((text_model|vision_model)\.encoder\.layers\.(\d+)\.(.*))");
  std::map<std::string, std::array<torch::Tensor, 3>> qkv;
  for (const auto& [key, value] : hf) {
    if (ends_with(key, "position_ids")) continue;
    if (key == "text_projection.weight") { out["text_projection"] = value.t().contiguous(); continue; }
    if (key == "visual_projection.weight") { out["visual.proj"] = value.t().contiguous(); continue; }
    std::smatch m;
    if (std::regex_match(key, m, layer)) {
      const std::string block = (m[1] == "text_model" ? "transformer.resblocks." : "visual.transformer.resblocks.") +
                                m[2].str() + ".";
      std::string rest = m[3];
      bool fused = false;
      for (int i = 0; i < 3; ++i) {
        const std::string proj = std::string("self_attn.") + "qkv"[i] + "_proj.";
        if (starts_with(rest, proj)) {
          qkv[block + "attn.in_proj_" + rest.substr(proj.size())][i] = value;
          fused = true;
        }
      }
      if (fused) continue;
      static const std::vector<std::pair<std::string, std::string>> parts = {
          {"self_attn.out_proj.", "attn.out_proj."}, {"layer_norm1.", "ln_1."}, {"layer_norm2.", "ln_2."},
          {"mlp.fc1.", "mlp.c_fc."}, {"mlp.fc2.", "mlp.c_proj."}};
      bool renamed = false;
      for (const auto& [from, to] : parts) {
        if (starts_with(rest, from)) {
          out[block + to + rest.substr(from.size())] = value;
          renamed = true;
        }
      }
      if (!renamed) out[key] = value;  // reported as unexpected
      continue;
    }
    bool renamed = false;
    for (const auto& [from, to] : renames) {
      if (starts_with(key, from)) {
        out[to + key.substr(from.size())] = value;
        renamed = true;
        break;
      }
    }
    if (!renamed) out[key] = value;
  }
  for (auto& [key, parts] : qkv) {
    if (!parts[0].defined() || !parts[1].defined() || !parts[2].defined()) {
      throw InputError(source + ": attention projections incomplete for " + key + " (need q_proj, k_proj, v_proj)");
    }
    out[key] = torch::cat({parts[0], parts[1], parts[2]}, 0);
  }
  return out;
}

ClipConfig hf_config(const nlohmann::json& j, const StateDict& state, const ClipLoadOptions& options,
                     const fs::path& path) {
  if (!j.contains("text_config") || !j.contains("vision_config")) {
    throw InputError(path.string() + ": not a CLIPModel config (no text_config/vision_config)");
  }
  const auto& t = j["text_config"];
  const auto& v = j["vision_config"];
  // Sizes come from the weights; heads and activation only the config knows.
  ClipConfig c = infer_openai_config(state, options.text_heads > 0 ? options.text_heads : t.value("num_attention_heads", 8),
                                     options.vision_heads > 0 ? options.vision_heads : v.value("num_attention_heads", 12),
                                     path.parent_path().string());
  const std::string act = t.value("hidden_act", std::string("quick_gelu"));
  if (act == "quick_gelu") c.activation = Activation::quick_gelu;
  else if (act == "gelu") c.activation = Activation::gelu;
  else throw InputError(path.string() + ": unsupported hidden_act \"" + act + "\" (quick_gelu or gelu)");
  if (v.value("hidden_act", act) != act) throw InputError(path.string() + ": text and vision activations differ");
  c.layer_norm_eps = t.value("layer_norm_eps", 1e-5);
  return c;
}

bool is_zip(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  in.read(magic, 4);
  return in.gcount() == 4 && std::memcmp(magic, "PK\x03\x04", 4) == 0;
}

const char* kExpected =
    "expected a Hugging Face folder (config.json + model.safetensors), an OpenAI TorchScript .pt, or a "
    "safetensors file in OpenAI key layout";

}  // namespace

ClipWeights read_clip_weights(const fs::path& path, const ClipLoadOptions& options) {
  ClipWeights w;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    const fs::path config_json = path / "config.json";
    if (!fs::exists(config_json)) throw InputError(path.string() + ": no config.json; " + kExpected);
    StateDict hf = detail::read_hf_weights(path);
    w.state = hf_to_openai(hf, path.string());
    try {
      w.config = hf_config(io::read_json(config_json), w.state, options, config_json);
    } catch (const nlohmann::json::exception& e) {  // a value of the wrong type, e.g. "num_attention_heads": "8"
      throw InputError(config_json.string() + ": a config value has the wrong type (" + std::string(e.what()) + ")");
    }
    w.layout = "hf-folder";
    w.preprocess = fs::exists(path / "preprocessor_config.json")
                           ? vision::PreprocessConfig::from_hf_json(path / "preprocessor_config.json")
                           : vision::PreprocessConfig::openai(w.config.image_resolution);
    w.tokenizer_dir = path;
  } else if (is_zip(path)) {
    torch::jit::Module jit;
    try {
      jit = torch::jit::load(path.string(), torch::kCPU);
    } catch (const c10::Error& e) {
      throw InputError(path.string() + ": not a readable TorchScript archive (" +
                       std::string(e.what_without_backtrace()).substr(0, 200) + ")");
    }
    for (const auto& p : jit.named_parameters(true)) w.state[p.name] = p.value.detach().to(torch::kFloat32);
    for (const auto& b : jit.named_buffers(true)) {
      w.state[b.name] = b.value.is_floating_point() ? b.value.detach().to(torch::kFloat32) : b.value.detach();
    }
    const bool vit = w.state.count("visual.proj") > 0;
    const int text_heads = options.text_heads > 0 ? options.text_heads
                                                  : traced_heads(jit, {"transformer", "resblocks", "0", "attn"});
    const int vision_heads =
        options.vision_heads > 0
            ? options.vision_heads
            : (vit ? traced_heads(jit, {"visual", "transformer", "resblocks", "0", "attn"})
                   : traced_heads(jit, {"visual", "attnpool"}));
    w.config = infer_openai_config(w.state, text_heads, vision_heads, path.string());
    w.layout = "openai-torchscript";
    w.preprocess = vision::PreprocessConfig::openai(w.config.image_resolution);
    w.tokenizer_dir = path.parent_path();
  } else {
    std::map<std::string, std::string> metadata;
    try {
      read_safetensors_into(path, w.state, &metadata);
    } catch (const InputError& e) {
      throw InputError(path.string() + ": unknown model format; " + kExpected + " (" + e.what() + ")");
    }
    auto meta_int = [&](const char* key, int given) {
      if (given > 0) return given;
      auto it = metadata.find(key);
      return it == metadata.end() ? 0 : std::atoi(it->second.c_str());
    };
    if (w.state.count("text_model.embeddings.token_embedding.weight")) {
      throw InputError(path.string() + ": Hugging Face key layout; load the whole folder (with config.json) instead");
    }
    w.config = infer_openai_config(w.state, meta_int("text_heads", options.text_heads),
                                 meta_int("vision_heads", options.vision_heads), path.string());
    w.layout = "openai-safetensors";
    w.preprocess = vision::PreprocessConfig::openai(w.config.image_resolution);
    w.tokenizer_dir = path.parent_path();
  }
  return w;
}

// Copies `state` into the module's parameters/buffers; one error lists what does not fit.
void load_state(Clip& model, StateDict& state, const std::string& source) {
  static const std::set<std::string> ignored = {"input_resolution", "context_length", "vocab_size"};
  std::vector<std::string> missing, mismatched;
  std::set<std::string> used;
  torch::NoGradGuard no_grad;
  auto assign = [&](const std::string& name, torch::Tensor& target) {
    auto it = state.find(name);
    if (it == state.end()) {
      missing.push_back(name + " " + shape_string(target.sizes()));
      return;
    }
    used.insert(name);
    if (it->second.sizes() != target.sizes()) {
      mismatched.push_back(name + " " + shape_string(it->second.sizes()) + " vs " + shape_string(target.sizes()));
      return;
    }
    detail::move_weight_into(target, it->second);
  };
  for (auto& p : model->named_parameters(true)) assign(p.key(), p.value());
  for (auto& b : model->named_buffers(true)) assign(b.key(), b.value());
  std::vector<std::string> unexpected;
  for (const auto& [name, value] : state) {
    if (used.count(name) || ignored.count(name) || ends_with(name, "num_batches_tracked") || ends_with(name, "position_ids")) continue;
    unexpected.push_back(name + (value.defined() ? " " + shape_string(value.sizes()) : ""));
  }
  detail::check_weights_fit(source, "the CLIP architecture inferred from them", missing, unexpected, mismatched);
}

std::string fingerprint_of(Clip& model, Precision precision, Device device) {
  std::uint64_t h = 0x9E3779B97F4A7C15ULL;
  auto mix = [&](std::uint64_t v) {
    h ^= v + 0x9E3779B97F4A7C15ULL + (h << 6) + (h >> 2);
  };
  for (const char c : model->config.describe()) mix(static_cast<unsigned char>(c));
  mix(static_cast<std::uint64_t>(precision));
  // A GPU's bfloat16 rounds every activation where the CPU's rounds the dense weights and
  // the activations the products read (and float16 exists only there): different numbers,
  // so embeddings cached by one must not be taken for the other's. float32 computes the
  // same on both (to rounding, as OpenBLAS and oneDNN differ) and keeps one fingerprint.
  if (device == Device::cuda && precision != Precision::float32) mix(0xC0DAULL);
  // The CPU's bfloat16 arithmetic, numbered: 2 rounds q, k, v, the MLP's hidden activations
  // and the ViT's patches to bfloat16 too (1 rounded the dense weights alone).
  if (device == Device::cpu && precision == Precision::bfloat16) mix(2);
  // FNV-style over the float32 bits, in four interleaved lanes so that the multiplies do
  // not wait on each other (one chain over 150M words took ~0.3 s of every start).
  auto digest = [](const torch::Tensor& tensor) {
    auto t = tensor.to(torch::kCPU, torch::kFloat32).contiguous();
    const auto* words = reinterpret_cast<const std::uint32_t*>(t.data_ptr<float>());
    const auto n = static_cast<std::size_t>(t.numel());
    std::uint64_t lane[4] = {n, n + 1, n + 2, n + 3};
    std::size_t i = 0;
    for (; i + 4 <= n; i += 4)
      for (int l = 0; l < 4; ++l) lane[l] = (lane[l] ^ words[i + l]) * 0x100000001B3ULL;
    for (; i < n; ++i) lane[0] = (lane[0] ^ words[i]) * 0x100000001B3ULL;
    return lane[0] ^ (lane[1] * 3) ^ (lane[2] * 5) ^ (lane[3] * 7);
  };
  for (auto& p : model->named_parameters(true)) mix(digest(p.value()));
  for (auto& b : model->named_buffers(true)) mix(digest(b.value()));
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return hex;
}

}  // namespace recap::models::detail
