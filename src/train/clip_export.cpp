#include "clip_export.h"

#include <map>
#include <regex>

#include <nlohmann/json.hpp>

#include "recap/io/atomic_file.h"
#include "recap/io/safetensors_writer.h"

namespace recap::train {

namespace fs = std::filesystem;

namespace {

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

// OpenAI name -> Hugging Face name(s): the loader fuses q/k/v into in_proj, so export
// splits it again.
void add_hf_tensors(const std::string& name, const torch::Tensor& value, std::map<std::string, torch::Tensor>& out) {
  static const std::vector<std::pair<std::string, std::string>> renames = {
      {"token_embedding.weight", "text_model.embeddings.token_embedding.weight"},
      {"positional_embedding", "text_model.embeddings.position_embedding.weight"},
      {"ln_final.", "text_model.final_layer_norm."},
      {"visual.class_embedding", "vision_model.embeddings.class_embedding"},
      {"visual.conv1.weight", "vision_model.embeddings.patch_embedding.weight"},
      {"visual.positional_embedding", "vision_model.embeddings.position_embedding.weight"},
      {"visual.ln_pre.", "vision_model.pre_layrnorm."},
      {"visual.ln_post.", "vision_model.post_layernorm."},
      {"logit_scale", "logit_scale"},
  };
  static const std::regex block(R"((visual\.)?transformer\.resblocks\.(\d+)\.(.*))");
  if (name == "text_projection") { out["text_projection.weight"] = value.t(); return; }
  if (name == "visual.proj") { out["visual_projection.weight"] = value.t(); return; }
  std::smatch m;
  if (std::regex_match(name, m, block)) {
    const std::string prefix = std::string(m[1].matched ? "vision_model" : "text_model") + ".encoder.layers." +
                               m[2].str() + ".";
    const std::string rest = m[3];
    if (rest == "attn.in_proj_weight" || rest == "attn.in_proj_bias") {
      const auto parts = value.chunk(3, 0);
      const std::string kind = rest == "attn.in_proj_weight" ? "weight" : "bias";
      for (int i = 0; i < 3; ++i) out[prefix + "self_attn." + "qkv"[i] + "_proj." + kind] = parts[i];
      return;
    }
    static const std::vector<std::pair<std::string, std::string>> parts = {
        {"attn.out_proj.", "self_attn.out_proj."}, {"ln_1.", "layer_norm1."}, {"ln_2.", "layer_norm2."},
        {"mlp.c_fc.", "mlp.fc1."}, {"mlp.c_proj.", "mlp.fc2."}};
    for (const auto& [from, to] : parts) {
      if (starts_with(rest, from)) { out[prefix + to + rest.substr(from.size())] = value; return; }
    }
  }
  for (const auto& [from, to] : renames) {
    if (starts_with(name, from)) { out[to + name.substr(from.size())] = value; return; }
  }
  throw std::logic_error("write_hf_clip: no Hugging Face name for " + name);
}

nlohmann::json hf_config(const models::detail::ClipConfig& c, const text::ClipTokenizer& tokenizer) {
  const std::string act = c.activation == models::detail::Activation::quick_gelu ? "quick_gelu" : "gelu";
  return {{"architectures", {"CLIPModel"}},
          {"model_type", "clip"},
          {"projection_dim", c.embed_dim},
          {"logit_scale_init_value", 2.6592},
          {"text_config",
           {{"model_type", "clip_text_model"}, {"vocab_size", c.vocab_size}, {"hidden_size", c.text_width},
            {"intermediate_size", c.text_mlp}, {"num_hidden_layers", c.text_layers},
            {"num_attention_heads", c.text_heads}, {"max_position_embeddings", c.context_length},
            {"hidden_act", act}, {"layer_norm_eps", c.layer_norm_eps}, {"bos_token_id", tokenizer.start_id()},
            {"eos_token_id", tokenizer.end_id()}, {"pad_token_id", 0}, {"projection_dim", c.embed_dim}}},
          {"vision_config",
           {{"model_type", "clip_vision_model"}, {"hidden_size", c.vision_width},
            {"intermediate_size", c.vision_mlp}, {"num_hidden_layers", c.vision_layers},
            {"num_attention_heads", c.vision_heads}, {"image_size", c.image_resolution},
            {"patch_size", c.patch_size}, {"num_channels", 3}, {"hidden_act", act},
            {"layer_norm_eps", c.layer_norm_eps}, {"projection_dim", c.embed_dim}}},
          {"torch_dtype", "float32"}};
}

nlohmann::json preprocessor_config(int resolution) {
  return {{"crop_size", {{"height", resolution}, {"width", resolution}}},
          {"do_center_crop", true},
          {"do_normalize", true},
          {"do_resize", true},
          {"do_convert_rgb", true},
          {"image_mean", {0.48145466, 0.4578275, 0.40821073}},
          {"image_std", {0.26862954, 0.26130258, 0.27577711}},
          {"resample", 3},
          {"size", {{"shortest_edge", resolution}}},
          {"image_processor_type", "CLIPImageProcessor"}};
}

}  // namespace

void write_hf_clip(const fs::path& folder, models::detail::Clip& model, const text::ClipTokenizer& tokenizer) {
  std::map<std::string, torch::Tensor> hf;
  for (const auto& p : model->named_parameters(true)) add_hf_tensors(p.key(), p.value().detach(), hf);
  std::vector<torch::Tensor> keep;  // contiguous copies outlive the writer's pointers
  std::vector<io::TensorToWrite> tensors;
  for (const auto& [name, value] : hf) {
    keep.push_back(value.to(torch::kFloat32).contiguous());
    tensors.push_back({name, std::vector<std::int64_t>(value.sizes().begin(), value.sizes().end()),
                       keep.back().data_ptr<float>()});
  }
  io::write_safetensors(folder / "model.safetensors", tensors, {{"format", "pt"}});
  io::write_text_file(folder / "config.json", hf_config(model->config, tokenizer).dump(1) + "\n");
  io::write_text_file(folder / "preprocessor_config.json",
                      preprocessor_config(model->config.image_resolution).dump(1) + "\n");
}

}  // namespace recap::train
