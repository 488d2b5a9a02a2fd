// Loading a Hugging Face T5 folder onto the native modules, and the public T5Model API.
#include "recap/models/t5_model.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "recap/common/compute.h"
#include "recap/common/error.h"
#include "recap/io/json_file.h"
#include "recap/models/model_gemm.h"
#include "recap/io/safetensors.h"
#include "cuda_settings.h"
#include "t5_generate.h"
#include "t5_modules.h"
#include "state_dict.h"
#include "torch_threads.h"

namespace fs = std::filesystem;

namespace recap::models {
namespace {

using detail::StateDict;

using detail::shape_string;

// T5 checkpoints hold no integer tensors that the model uses.
StateDict read_weights(const fs::path& dir) { return detail::read_hf_weights(dir, /*skip_integer=*/true); }

// Copies `state` into the module; one error lists everything that does not fit.
void load_state(detail::T5& model, StateDict& state, const std::string& source) {
  // Hugging Face stores the tied embedding under these names too in some checkpoints.
  static const std::set<std::string> tied_copies = {"encoder.embed_tokens.weight", "decoder.embed_tokens.weight"};
  std::vector<std::string> missing, mismatched, unexpected;
  std::set<std::string> used;
  torch::NoGradGuard no_grad;
  for (auto& p : model->named_parameters(true)) {
    auto it = state.find(p.key());
    if (it == state.end()) {
      missing.push_back(p.key() + " " + shape_string(p.value().sizes()));
      continue;
    }
    used.insert(p.key());
    if (it->second.sizes() != p.value().sizes()) {
      mismatched.push_back(p.key() + " " + shape_string(it->second.sizes()) + " vs " + shape_string(p.value().sizes()));
      continue;
    }
    detail::move_weight_into(p.value(), it->second);
  }
  for (const auto& [name, value] : state) {
    if (used.count(name) || tied_copies.count(name)) continue;
    unexpected.push_back(name + (value.defined() ? " " + shape_string(value.sizes()) : ""));
  }
  detail::check_weights_fit(source, "the T5 architecture of config.json", missing, unexpected, mismatched);
}

torch::Dtype dtype_of(Precision p) {
  return p == Precision::float16 ? torch::kFloat16 : p == Precision::bfloat16 ? torch::kBFloat16 : torch::kFloat32;
}

void check_device(const T5LoadOptions& options) {
  if (options.device == Device::cuda && !torch::cuda::is_available()) {
    throw UsageError("--device cuda: this LibTorch has no CUDA support or no GPU is visible; use --device cpu");
  }
  if (options.device == Device::cpu && options.precision == Precision::float16) {
    throw UsageError("--dtype float16 needs --device cuda; on CPU use float32 or bfloat16");
  }
  at::set_num_threads(options.threads > 0 ? options.threads
                                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
}

}  // namespace

std::string T5Info::describe() const {
  std::ostringstream s;
  s << "T5 (d_model " << d_model << ", " << encoder_layers << "+" << decoder_layers << " layers, " << num_heads
    << " heads x " << d_kv << ", d_ff " << d_ff << " " << feed_forward << ", vocab " << vocab_size << ", head "
    << (own_lm_head ? "lm_head" : "tied") << (scale_decoder_outputs ? " rescaled" : "") << ", "
    << precision_name(precision) << " on " << (device == Device::cuda ? "cuda" : "cpu") << ")";
  return s.str();
}

IdRows IdRows::from_lists(const std::vector<std::vector<std::int64_t>>& lists, std::int64_t pad, IdRows* mask) {
  std::size_t width = 0;
  for (const auto& l : lists) width = std::max(width, l.size());
  IdRows rows(static_cast<std::int64_t>(lists.size()), static_cast<std::int64_t>(width), pad);
  if (mask) *mask = IdRows(rows.rows, rows.cols, 0);
  for (std::size_t i = 0; i < lists.size(); ++i) {
    std::copy(lists[i].begin(), lists[i].end(), rows.row(static_cast<std::int64_t>(i)));
    if (mask) std::fill(mask->row(static_cast<std::int64_t>(i)), mask->row(static_cast<std::int64_t>(i)) + lists[i].size(), 1);
  }
  return rows;
}

std::vector<std::int64_t> IdRows::until_eos(std::int64_t i, std::int64_t eos) const {
  std::vector<std::int64_t> out;
  for (std::int64_t j = 0; j < cols; ++j) {
    out.push_back(row(i)[j]);
    if (row(i)[j] == eos && j > 0) break;
  }
  return out;
}

Decoding parse_decoding(const std::string& name) {
  if (name == "greedy") return Decoding::greedy;
  if (name == "beam") return Decoding::beam;
  if (name == "sample" || name == "topk" || name == "nucleus") return Decoding::sample;
  throw UsageError("--decoding must be greedy, beam, sample, topk or nucleus, got \"" + name + "\"");
}

std::string decoding_name(Decoding d) {
  switch (d) {
    case Decoding::greedy: return "greedy";
    case Decoding::beam: return "beam";
    case Decoding::sample: return "sample";
  }
  return "?";
}

void GenerationOptions::validate() const {
  if (max_new_tokens <= 0) throw UsageError("max new tokens must be positive, got " + std::to_string(max_new_tokens));
  if (min_new_tokens < 0 || min_new_tokens > max_new_tokens)
    throw UsageError("min new tokens must be between 0 and max new tokens");
  if (num_return_sequences <= 0) throw UsageError("num return sequences must be positive");
  if (decoding == Decoding::beam) {
    if (num_beams < 1) throw UsageError("num beams must be positive, got " + std::to_string(num_beams));
    if (num_return_sequences > num_beams)
      throw UsageError("num return sequences (" + std::to_string(num_return_sequences) + ") cannot exceed num beams (" +
                       std::to_string(num_beams) + ")");
  } else if (decoding == Decoding::greedy && num_return_sequences != 1) {
    throw UsageError("greedy decoding returns one sequence per input; use beam or sampling for more");
  }
  if (!(temperature > 0)) throw UsageError("temperature must be positive");
  if (top_k < 0) throw UsageError("top-k must be >= 0");
  if (!(top_p > 0 && top_p <= 1)) throw UsageError("top-p must be in (0, 1]");
  if (!(repetition_penalty > 0)) throw UsageError("repetition penalty must be positive");
  if (no_repeat_ngram_size < 0) throw UsageError("no-repeat n-gram size must be >= 0");
}

struct T5Model::Impl {
  detail::T5 net{nullptr};
  T5Info info;
  std::optional<text::T5Tokenizer> tokenizer;
  torch::Device device = torch::kCPU;
  torch::Dtype dtype = torch::kFloat32;
  int threads = 1;  // for the dense products (see ScopedProductThreads)

  torch::Tensor ids_tensor(const IdRows& rows) const {
    if (rows.rows <= 0 || rows.cols <= 0) throw InputError("token ids are empty");
    if (static_cast<std::int64_t>(rows.values.size()) != rows.rows * rows.cols) throw InputError("token id rows are ragged");
    for (std::size_t i = 0; i < rows.values.size(); ++i) {
      if (rows.values[i] < 0 || rows.values[i] >= info.vocab_size) {
        throw InputError("token id " + std::to_string(rows.values[i]) + " at row " + std::to_string(i / rows.cols) +
                         " is outside the vocabulary (0.." + std::to_string(info.vocab_size - 1) + ")");
      }
    }
    return torch::from_blob(const_cast<std::int64_t*>(rows.values.data()), {rows.rows, rows.cols}, torch::kInt64)
        .clone()
        .to(device);
  }

  torch::Tensor mask_tensor(const IdRows* mask, const IdRows& ids) const {
    if (mask == nullptr) return {};
    if (mask->rows != ids.rows || mask->cols != ids.cols) {
      throw InputError("attention mask is " + std::to_string(mask->rows) + " x " + std::to_string(mask->cols) +
                       " but the ids are " + std::to_string(ids.rows) + " x " + std::to_string(ids.cols));
    }
    for (std::int64_t r = 0; r < mask->rows; ++r) {
      bool any = false;
      for (std::int64_t j = 0; j < mask->cols; ++j) {
        const auto v = mask->row(r)[j];
        if (v != 0 && v != 1) throw InputError("attention mask values must be 0 or 1, got " + std::to_string(v));
        any = any || v == 1;
      }
      if (!any) throw InputError("attention mask row " + std::to_string(r) + " masks every token");
    }
    return torch::from_blob(const_cast<std::int64_t*>(mask->values.data()), {mask->rows, mask->cols}, torch::kInt64)
        .clone()
        .to(device);
  }

  static std::vector<float> to_vector(const torch::Tensor& t) {
    auto cpu = t.to(torch::kCPU, torch::kFloat32).contiguous();
    return std::vector<float>(cpu.data_ptr<float>(), cpu.data_ptr<float>() + cpu.numel());
  }

  void finish(const detail::T5Config& config, const T5LoadOptions& options, const std::string& path) {
    device = options.device == Device::cuda ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
    if (options.device == Device::cuda && options.precision == Precision::float32) detail::use_ieee_float32_on_cuda();
    dtype = dtype_of(options.precision);
    threads = options.threads > 0 ? options.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    net->eval();
    net->to(device, dtype);
    if (device.is_cuda()) {
      // A GPU's first products set up cuBLAS, a second or so: done here with one token
      // through the encoder, a decoder step and the head, so that generation time is the
      // model's own.
      torch::InferenceMode guard;
      const auto one = torch::full({1, 1}, config.eos_token_id, torch::TensorOptions().dtype(torch::kInt64).device(device));
      auto cache = net->start_decoder(net->encode(one, {}), {});
      net->head(net->decode(one, cache));
    }
    // The float32 product engine is chosen here, on the loading thread, not inside the
    // first product's scope (see model_gemm_choice).
    if (device.is_cpu() && dtype == torch::kFloat32) (void)model_gemm_choice();
    info.path = path;
    info.d_model = config.d_model;
    info.d_kv = config.d_kv;
    info.d_ff = config.d_ff;
    info.num_heads = config.num_heads;
    info.encoder_layers = config.num_layers;
    info.decoder_layers = config.num_decoder_layers;
    info.vocab_size = config.vocab_size;
    info.relative_attention_num_buckets = config.relative_attention_num_buckets;
    info.relative_attention_max_distance = config.relative_attention_max_distance;
    info.feed_forward = config.feed_forward_name();
    info.own_lm_head = static_cast<bool>(net->lm_head);
    info.scale_decoder_outputs = config.scale_decoder_outputs;
    info.layer_norm_epsilon = config.layer_norm_epsilon;
    info.decoder_start_token_id = config.decoder_start_token_id;
    info.eos_token_id = config.eos_token_id;
    info.pad_token_id = config.pad_token_id;
    info.device = options.device;
    info.precision = options.precision;
    info.parameters = 0;
    for (const auto& p : net->parameters()) info.parameters += p.numel();
  }
};

T5Model::T5Model(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
T5Model::T5Model(T5Model&&) noexcept = default;
T5Model& T5Model::operator=(T5Model&&) noexcept = default;
T5Model::~T5Model() = default;

T5Model T5Model::load(const fs::path& path, const T5LoadOptions& options) {
  check_device(options);
  std::error_code ec;
  if (!fs::exists(path, ec)) throw InputError(path.string() + ": no such file or directory");
  if (!fs::is_directory(path, ec)) {
    throw InputError(path.string() + ": not a T5 model folder (expected a Hugging Face folder with config.json, "
                     "model.safetensors and spiece.model)");
  }
  const fs::path config_json = path / "config.json";
  if (!fs::exists(config_json)) {
    throw InputError(path.string() + ": not a T5 model folder (no config.json; expected a Hugging Face folder with "
                     "config.json, model.safetensors and spiece.model)");
  }
  const auto config = detail::T5Config::from_json(io::read_file(config_json), config_json.string());
  // The tokenizer before gigabytes of weights: a wrong spiece.model fails fast.
  std::optional<text::T5Tokenizer> tokenizer;
  if (options.load_tokenizer) {
    tokenizer.emplace(text::T5Tokenizer::load(path));
    const auto need = tokenizer->vocab_size();
    // Checkpoints pad the embedding up to a multiple of 128 rows (FLAN-T5: 32100 ids, 32128 rows).
    if (config.vocab_size < need || config.vocab_size >= need + 128) {
      throw InputError(path.string() + ": the model's vocabulary (" + std::to_string(config.vocab_size) +
                       " ids) does not match its tokenizer (spiece.model: " + std::to_string(tokenizer->piece_size()) +
                       " pieces + " + std::to_string(tokenizer->extra_ids()) + " sentinels = " + std::to_string(need) +
                       " ids)");
    }
  }
  StateDict state = read_weights(path);
  const bool own_head = state.count("lm_head.weight") > 0;
  auto impl = std::make_unique<Impl>();
  impl->net = detail::T5(config, own_head);
  load_state(impl->net, state, path.string());
  state.clear();
  impl->finish(config, options, path.string());
  impl->tokenizer = std::move(tokenizer);
  return T5Model(std::move(impl));
}

T5Model T5Model::random(const std::string& config_json, std::uint64_t seed, const T5LoadOptions& options) {
  check_device(options);
  const auto config = detail::T5Config::from_json(config_json, "random T5 config");
  nlohmann::json j = nlohmann::json::parse(config_json);
  auto impl = std::make_unique<Impl>();
  impl->net = detail::T5(config, !j.value("tie_word_embeddings", true));
  auto generator = at::detail::createCPUGenerator(seed);
  {
    torch::NoGradGuard no_grad;
    for (auto& p : impl->net->named_parameters(true)) {
      if (p.key().find("layer_norm") != std::string::npos) continue;  // norms stay at 1
      p.value().copy_(at::normal(0.0, 0.05, p.value().sizes(), generator));
    }
  }
  impl->finish(config, options, "random");
  return T5Model(std::move(impl));
}

const T5Info& T5Model::info() const { return impl_->info; }
bool T5Model::has_tokenizer() const { return impl_->tokenizer.has_value(); }

const text::T5Tokenizer& T5Model::tokenizer() const {
  if (!impl_->tokenizer) throw UsageError(impl_->info.path + ": the T5 model has no tokenizer (spiece.model)");
  return *impl_->tokenizer;
}

// T5's work is in its matmuls, spread over the cores by oneDNN (on LibTorch's OpenMP team)
// or by OpenBLAS (on a pool of its own). With two pools active, their idle threads spin and
// yield against each other between the many small decoding steps: decoding ran 1.4-2.7x
// slower (bench_t5, FLAN-T5-base shape). So each entry point below holds one pool busy:
// - products on oneDNN: LibTorch's own operators (softmax, norms, the cache's copies) run
//   on the same OpenMP team, and OpenBLAS, left with LibTorch's small products, stays on the
//   calling thread (its workers would spin in sched_yield for ~0.1 s after every call; a
//   sixth of LM captioning's CPU time). Both: recap-caption --lm on 4 images 31.2 -> ~21 s.
// - products on OpenBLAS: LibTorch's operators run on the calling thread.
namespace {

class OnePool {
 public:
  OnePool(const torch::Device& device, torch::Dtype dtype, int threads)
      : on_onednn_(device.is_cpu() && dense_products_on_onednn(dtype == torch::kBFloat16)),
        torch_ops_(on_onednn_ ? threads : 1),
        products_(threads) {
    if (on_onednn_) blas_.emplace();
  }

 private:
  bool on_onednn_;
  detail::ScopedTorchThreads torch_ops_;
  detail::ScopedProductThreads products_;  // oneDNN's products on every thread
  std::optional<ScopedSingleThreadedBlas> blas_;
};

}  // namespace

std::vector<float> T5Model::encode(const IdRows& ids, const IdRows* mask) const {
  const OnePool pool(impl_->device, impl_->dtype, impl_->threads);
  torch::InferenceMode guard;
  const auto t = impl_->ids_tensor(ids);
  return Impl::to_vector(impl_->net->encode(t, impl_->mask_tensor(mask, ids)));
}

std::vector<float> T5Model::logits(const IdRows& ids, const IdRows* mask, const IdRows& decoder_ids) const {
  if (decoder_ids.rows != ids.rows) {
    throw InputError("decoder ids have " + std::to_string(decoder_ids.rows) + " rows but the inputs have " +
                     std::to_string(ids.rows));
  }
  const OnePool pool(impl_->device, impl_->dtype, impl_->threads);
  torch::InferenceMode guard;
  const auto m = impl_->mask_tensor(mask, ids);
  const auto states = impl_->net->encode(impl_->ids_tensor(ids), m);
  auto cache = impl_->net->start_decoder(states, m);
  const auto hidden = impl_->net->decode(impl_->ids_tensor(decoder_ids), cache);
  return Impl::to_vector(impl_->net->head(hidden));
}

Generation T5Model::generate(const IdRows& ids, const IdRows* mask, const GenerationOptions& options) const {
  return std::move(generate(ids, mask, std::vector<GenerationOptions>{options}).front());
}

std::vector<Generation> T5Model::generate(const IdRows& ids, const IdRows* mask,
                                          const std::vector<GenerationOptions>& each) const {
  for (const auto& options : each) {
    options.validate();
    if (!options.seed_offsets.empty() && static_cast<std::int64_t>(options.seed_offsets.size()) != ids.rows)
      throw UsageError(std::to_string(options.seed_offsets.size()) + " seed offsets for " + std::to_string(ids.rows) +
                       " inputs");
  }
  const OnePool pool(impl_->device, impl_->dtype, impl_->threads);
  torch::InferenceMode guard;
  const auto m = impl_->mask_tensor(mask, ids);
  const auto states = impl_->net->encode(impl_->ids_tensor(ids), m);
  std::vector<Generation> out;
  for (const auto& options : each) {
    auto result = detail::run_decoding(impl_->net, states, m, options);
    Generation g;
    g.sequences = IdRows::from_lists(result.sequences, impl_->info.pad_token_id);
    g.scores = std::move(result.scores);
    out.push_back(std::move(g));
  }
  return out;
}

Generation T5Model::generate(const std::vector<std::string>& prompts, const GenerationOptions& options,
                             std::int64_t max_input_tokens) const {
  return std::move(generate(prompts, std::vector<GenerationOptions>{options}, max_input_tokens).front());
}

std::vector<Generation> T5Model::generate(const std::vector<std::string>& prompts,
                                          const std::vector<GenerationOptions>& each,
                                          std::int64_t max_input_tokens) const {
  if (prompts.empty()) throw UsageError("no prompts to generate from");
  std::vector<std::vector<std::int64_t>> lists;
  for (const auto& p : prompts) lists.push_back(tokenizer().encode(p, true, max_input_tokens));
  IdRows mask;
  const IdRows ids = IdRows::from_lists(lists, impl_->info.pad_token_id, &mask);
  return generate(ids, &mask, each);
}

}  // namespace recap::models
