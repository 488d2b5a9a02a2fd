// The public ClipModel API: loading (the weights' formats are read by clip_loading.h) and
// encoding images and texts on the native modules.
#include "recap/models/clip_model.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <mutex>
#include <optional>

#include "clip_loading.h"
#include "clip_modules.h"
#include "cuda_settings.h"
#include "packed_weights.h"
#include "recap/common/compute.h"
#include "recap/common/error.h"
#include "recap/common/parallel.h"
#include "recap/models/model_gemm.h"
#include "torch_threads.h"

namespace fs = std::filesystem;

namespace recap::models {

Device parse_device(const std::string& name) {
  if (name == "cpu") return Device::cpu;
  if (name == "cuda") return Device::cuda;
  throw UsageError("--device must be cpu or cuda, got \"" + name + "\"");
}

bool cuda_available() { return torch::cuda::is_available(); }

Precision parse_precision(const std::string& name) {
  if (name == "float32" || name == "fp32") return Precision::float32;
  if (name == "float16" || name == "fp16" || name == "half") return Precision::float16;
  if (name == "bfloat16" || name == "bf16") return Precision::bfloat16;
  throw UsageError("--dtype must be float32, float16 or bfloat16, got \"" + name + "\"");
}

std::int64_t end_of_text_position(const std::int64_t* row, std::int64_t length) {
  return std::max_element(row, row + length) - row;
}

std::string precision_name(Precision p) {
  switch (p) {
    case Precision::float32: return "float32";
    case Precision::float16: return "float16";
    case Precision::bfloat16: return "bfloat16";
  }
  return "?";
}

struct ClipModel::Impl {
  detail::Clip module{nullptr};
  ClipInfo info;
  vision::PreprocessConfig preprocess;
  std::optional<text::ClipTokenizer> tokenizer;
  torch::Device device = torch::kCPU;
  torch::Dtype dtype = torch::kFloat32;
  float logit_scale = 1.0f;
  int threads = 1;
  bool float32_activations = false;  // bfloat16 dense weights only (CPU ViT)

  // Runs `encode` on the rows of `input` and returns float32 rows on the CPU. On a CPU
  // with several threads the batch is cut into one contiguous shard per thread, each
  // encoded with single-threaded kernels. Why: sharing every small operation between
  // LibTorch's OpenMP threads and OpenBLAS's own threads made them spin and yield against
  // each other (perf on ViT-B/32: about a third of the time in sched_yield and libgomp,
  // a third in SGEMM); whole sequences per thread need no synchronisation at all. Each
  // row's result does not depend on the others, so sharding changes nothing but speed.
  //
  // A small batch (at most kOneShardRowsPerThread token rows per thread) runs as one
  // shard on all threads when the products go to oneDNN, whose OpenMP team splits each
  // product without spinning: on 2 cores of a Zen 5, ViT-B/32 batch 1 ran 1.6x and batch
  // 4 1.1x faster that way than sharded. The bound counts the rows the products see, not
  // items: a caption is about 15 tokens against an image's 50, and on a Sapphire Rapids
  // batches of 8 captions (about 120 rows) ran 1.08x faster on all threads than sharded
  // (median of 4 alternating pairs, 0.95-1.29x; in single runs, 16: even, 64: sharded
  // 1.1x faster).
  // With OpenBLAS's products it runs single-threaded altogether: with LibTorch's and
  // OpenBLAS's pools both active, batch 1 ran 6x slower per image than batch 16, its
  // threads spinning between the small products of one image. Each thread encodes its
  // shard at most kRowsPerCall rows per call, so that a large batch keeps its activations
  // in cache (batch 128 ran a third slower than batch 32).
  static constexpr std::int64_t kRowsPerCall = 16;
  static constexpr std::int64_t kOneShardRowsPerThread = 100;  // two ViT-B/32 images

  // `tokens_per_item`: the sequence length the dense products see for each row of `input`.
  template <typename Encode>
  io::FloatMatrix encode_rows(const torch::Tensor& input, std::int64_t tokens_per_item, Encode encode) const {
    const std::int64_t n = input.size(0);
    const int shards = static_cast<int>(std::min<std::int64_t>(threads, n));
    if (device.is_cuda()) {
      torch::InferenceMode guard;
      return to_matrix(encode(input.to(device)));
    }
    io::FloatMatrix out(n, info.embed_dim);
    auto encode_range = [&](std::int64_t begin, std::int64_t end) {
      torch::InferenceMode guard;
      detail::ScopedWeightPacking pack_weights;  // one item per call reads each weight 50 rows at a time
      for (std::int64_t at = begin; at < end; at += kRowsPerCall) {
        const io::FloatMatrix part = to_matrix(encode(input.slice(0, at, std::min(end, at + kRowsPerCall))));
        std::memcpy(out.row(at), part.data(), part.values.size() * sizeof(float));
      }
    };
    if (one_shard_on_every_thread(n * tokens_per_item)) {
      // oneDNN's team size is set on its own OpenMP runtime too: with a LibTorch that
      // brings its own libgomp (a PyTorch wheel's), at::set_num_threads does not reach
      // Debian's, which oneDNN uses. With Debian's LibTorch both are one runtime and this
      // changes nothing.
      detail::ScopedProductThreads products_on_every_thread(threads);
      encode_range(0, n);
      return out;
    }
    on_single_threaded_shards(n, shards, encode_range);
    return out;
  }

  // Several CPU threads with the dense products on oneDNN: where small calls may share
  // every thread (one shard) or run side by side rather than be sharded.
  bool several_threads_on_onednn() const {
    return !device.is_cuda() && threads > 1 && dense_products_on_onednn(dtype == torch::kBFloat16);
  }

  bool one_shard_on_every_thread(std::int64_t token_rows) const {
    return several_threads_on_onednn() && token_rows <= kOneShardRowsPerThread * threads;
  }

  // Runs fn(begin, end) over [0, n) cut into `shards` contiguous ranges, one thread each
  // (the calling thread takes the first), every thread with single-threaded kernels:
  // LibTorch's, oneDNN's and OpenBLAS's.
  template <typename Fn>
  void on_single_threaded_shards(std::int64_t n, int shards, Fn fn) const {
    detail::ScopedTorchThreads single_threaded_torch(1);
    detail::ScopedProductThreads one_product_thread(1);  // see products_on_every_thread in encode_rows
    ScopedSingleThreadedBlas single_threaded_blas;       // OpenBLAS's count is the process's: set once, around all
    if (shards <= 1) {
      fn(std::int64_t{0}, n);
      return;
    }
    parallel_ranges(n, shards, [&](std::int64_t begin, std::int64_t end) {
      at::set_num_threads(1);  // per thread: LibTorch's and oneDNN's OpenMP teams of one
      detail::ScopedProductThreads one_product_thread(1);  // the same where oneDNN's runtime is not LibTorch's
      fn(begin, end);
    });
  }

  // Calls of at most kSideBySideItems captions each run side by side, one per thread with
  // single-threaded kernels, rather than one after another on every thread: a caption's
  // dozen token rows are too few to share each product between threads without them
  // waiting on each other (perf at batch 1: 14% of the time in libgomp before, none after).
  // On 2 cores of a Zen 5 (ViT-B/32 text tower, 2,000 captions, alternating pairs, each
  // call's embeddings the same bit for bit: the products do not split their sums between
  // threads), captions/s side by side against one call at a time:
  //   float32:  batch 1 1.16x, 2 1.11x, 4 1.11x, 8 1.02-1.08x
  //   bfloat16: batch 1 1.29x, 2 1.22x, 4 1.21x, 8 1.10-1.14x
  // Batch 16 went 1.00-1.05x, and its calls of 16 are sharded between the threads today.
  // Two processes of one thread each, embedding an image a call, gained nothing against
  // one process on both threads (38.3 against 38.4-40.3 images/s): images stay as they are.
  static constexpr std::int64_t kSideBySideItems = 8;

  // Small calls are encoded in groups of calls that walk through the layers together:
  // each block's attention, then its c_fc, then its c_proj, for every call of the group
  // before the next stage (Transformer::forward_at_each). A stage's weights, read from
  // memory for the group's first call, come from the L3 for the others; one call of a
  // caption's ~15 or an image's 50 token rows otherwise streams every weight of the tower
  // from memory (151 MB for ViT-B/32's text tower, 351 MB for its vision tower, against a
  // 32 MB L3 on a Zen 5). Each call still runs its own products on its own shapes, on the
  // same threads: the same embeddings, bit for bit. Texts: each thread walks its own groups
  // (calls side by side, below); images: one group at a time on every thread. On 2 cores
  // of a Zen 5 (2,000 captions / 512 images, alternating runs), against one call at a
  // time: captions/s float32 batch 1 204-209 -> 311-328, batch 2 270-274 -> 316-323, batch
  // 8 unchanged (355-365), bfloat16 batch 1 367-379 -> 556-560; images/s float32 batch 1
  // 40-42 -> 49-50 (batch 32: 49). Groups of 16 items gained less (images 44-48), whole
  // blocks at a time instead of stages less too (images 41-45, captions 302-306).
  static constexpr std::int64_t kGroupItems = 32;

  static std::int64_t calls_per_group(std::int64_t items_per_call) {
    return std::max<std::int64_t>(1, kGroupItems / items_per_call);
  }

  std::int64_t image_tokens() const;  // the token rows of one image

  // Calls of this many images walk through the layers in groups (encode_image_calls)
  // where each would run as one shard on every thread; 1 where they are encoded alone.
  std::int64_t image_calls_per_group(std::int64_t items_per_call) const {
    return one_shard_on_every_thread(items_per_call * image_tokens()) ? calls_per_group(items_per_call) : 1;
  }

  // What the image tower reads: float32 where only the dense weights are bfloat16.
  torch::ScalarType image_input_dtype() const { return float32_activations ? torch::kFloat32 : dtype; }

  bool calls_side_by_side(std::int64_t items_per_call, std::int64_t calls) const {
    return calls > 1 && items_per_call <= kSideBySideItems && several_threads_on_onednn();
  }

  // Runs encode_call(i) for every call i in [0, calls) on every thread, each thread taking
  // the next call when it is free and running it with single-threaded kernels.
  template <typename EncodeCall>
  void run_calls_side_by_side(std::int64_t calls, EncodeCall encode_call) const {
    const int workers = static_cast<int>(std::min<std::int64_t>(threads, calls));
    std::atomic<std::int64_t> next{0};
    on_single_threaded_shards(workers, workers, [&](std::int64_t, std::int64_t) {
      torch::InferenceMode guard;
      detail::ScopedWeightPacking pack_weights;
      for (std::int64_t call; (call = next.fetch_add(1)) < calls;) encode_call(call);
    });
  }

  io::FloatMatrix to_matrix(const torch::Tensor& t) const {
    auto cpu = t.to(torch::kCPU, torch::kFloat32).contiguous();
    io::FloatMatrix m(cpu.size(0), cpu.size(1));
    std::memcpy(m.data(), cpu.data_ptr<float>(), m.values.size() * sizeof(float));
    return m;
  }
};

ClipModel::ClipModel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ClipModel::ClipModel(ClipModel&&) noexcept = default;
ClipModel& ClipModel::operator=(ClipModel&&) noexcept = default;
ClipModel::~ClipModel() = default;

ClipModel ClipModel::load(const fs::path& path, const ClipLoadOptions& options) {
  // Device and precision first: refuse before reading gigabytes.
  if (options.device == Device::cuda && !torch::cuda::is_available()) {
    throw UsageError("--device cuda: this LibTorch has no CUDA support or no GPU is visible; use --device cpu");
  }
  if (options.device == Device::cpu && options.precision == Precision::float16) {
    throw UsageError("--dtype float16 needs --device cuda; on CPU use float32 or bfloat16");
  }
  const int threads = resolve_threads(options.threads);
  at::set_num_threads(threads);
  std::error_code ec;
  if (!fs::exists(path, ec)) throw InputError(path.string() + ": no such file or directory");

  auto impl = std::make_unique<Impl>();
  impl->threads = threads;
  impl->info.path = path.string();
  auto weights = detail::read_clip_weights(path, options);
  const auto& config = weights.config;
  impl->info.layout = weights.layout;
  impl->preprocess = weights.preprocess;
  impl->module = detail::Clip(config);
  detail::load_state(impl->module, weights.state, path.string());
  weights.state.clear();
  impl->module->eval();
  impl->info.fingerprint = detail::fingerprint_of(impl->module, options.precision, options.device);
  impl->logit_scale = std::exp(impl->module->logit_scale.item<float>());

  if (options.device == Device::cuda) {
    impl->device = torch::Device(torch::kCUDA);
    if (options.precision == Precision::float32) detail::use_ieee_float32_on_cuda();
  }
  impl->dtype = options.precision == Precision::float16    ? torch::kFloat16
                : options.precision == Precision::bfloat16 ? torch::kBFloat16
                                                           : torch::kFloat32;
  impl->float32_activations = impl->device.is_cpu() && impl->dtype == torch::kBFloat16 && config.vit;
  if (impl->float32_activations) {
    // bfloat16 on a CPU: the dense layers' weights are rounded, and the activations that
    // feed only products are written in bfloat16 (q, k, v and the MLP's hidden layer: see
    // dense()). The residual stream, LayerNorms, attention's scores and softmax, and the
    // embeddings stay float32: as fast as an all-bfloat16 model on AVX-512 BF16, and the
    // embeddings' cosine to float32 rises from 0.99988 to ~0.99996-0.99999.
    // (A ResNet's convolutions are its work: those models stay bfloat16 throughout.)
    detail::round_dense_weights_to_bfloat16(*impl->module);
  } else {
    impl->module->to(impl->device, impl->dtype);
  }

  impl->info.architecture = config.describe();
  impl->info.image_resolution = config.image_resolution;
  impl->info.embed_dim = config.embed_dim;
  impl->info.context_length = config.context_length;
  impl->info.vit = config.vit;
  impl->info.device = options.device;
  impl->info.precision = options.precision;
  if (impl->preprocess.crop != config.image_resolution) {
    throw InputError(path.string() + ": preprocessing crops to " + std::to_string(impl->preprocess.crop) +
                     " px but the model takes " + std::to_string(config.image_resolution) + " px");
  }
  const fs::path tokenizer_path = options.tokenizer.empty() ? weights.tokenizer_dir : options.tokenizer;
  if (!options.tokenizer.empty() || fs::exists(tokenizer_path / "vocab.json") ||
      fs::exists(tokenizer_path / "bpe_simple_vocab_16e6.txt.gz")) {
    impl->tokenizer.emplace(text::ClipTokenizer::load(tokenizer_path));
  }
  // The float32 product engine is chosen now, on the loading thread, rather than by the
  // first product, which may run on a worker of a one-thread team (see model_gemm_choice).
  if (options.device == Device::cpu && options.precision == Precision::float32) (void)model_gemm_choice();
  ClipModel model(std::move(impl));
  if (options.device == Device::cuda) {
    // A GPU's first product and convolution set up cuBLAS and cuDNN, a second or so: done
    // here, with one blank image and one end-of-text token, so that the time of the first
    // batch is the model's own.
    const std::vector<float> blank(static_cast<std::size_t>(3) * config.image_resolution * config.image_resolution, 0.0f);
    model.encode_images(blank.data(), 1);
    const std::int64_t end_of_text = config.vocab_size - 1;
    model.encode_token_ids(&end_of_text, 1, 1);
  }
  return model;
}

const ClipInfo& ClipModel::info() const { return impl_->info; }
const vision::PreprocessConfig& ClipModel::preprocess_config() const { return impl_->preprocess; }
bool ClipModel::has_tokenizer() const { return impl_->tokenizer.has_value(); }
float ClipModel::logit_scale() const { return impl_->logit_scale; }

const text::ClipTokenizer& ClipModel::tokenizer() const {
  if (!impl_->tokenizer) {
    throw UsageError(impl_->info.path + ": no tokenizer beside the weights (vocab.json + merges.txt or "
                     "bpe_simple_vocab_16e6.txt.gz); give one with --tokenizer");
  }
  return *impl_->tokenizer;
}

std::int64_t ClipModel::Impl::image_tokens() const {
  // A ViT's tokens: its patches and the class token; a ResNet's attention pool sees the
  // final 32-pixel grid and its mean.
  const auto& config = module->config;
  const std::int64_t grid = info.image_resolution / (config.vit ? config.patch_size : 32);
  return grid * grid + 1;
}

std::int64_t ClipModel::calls_encoded_together(std::int64_t items_per_call) const {
  return items_per_call > 0 ? impl_->image_calls_per_group(items_per_call) : 1;
}

void ClipModel::encode_image_calls(const float* pixels, std::int64_t n, std::int64_t items_per_call,
                                   const CallDone& done) const {
  if (items_per_call <= 0) throw UsageError("--batch-size must be positive");
  const std::int64_t calls = (n + items_per_call - 1) / items_per_call;
  const std::int64_t image_floats = std::int64_t{3} * impl_->info.image_resolution * impl_->info.image_resolution;
  const std::int64_t group = impl_->image_calls_per_group(items_per_call);
  if (group <= 1 || calls <= 1) {
    for (std::int64_t first = 0; first < n; first += items_per_call)
      done(first, encode_images(pixels + first * image_floats, std::min(items_per_call, n - first)));
    return;
  }
  const int r = impl_->info.image_resolution;
  const auto input_dtype = impl_->image_input_dtype();
  torch::InferenceMode guard;
  detail::ScopedWeightPacking pack_weights;
  detail::ScopedProductThreads products_on_every_thread(impl_->threads);
  for (std::int64_t first_call = 0; first_call < calls; first_call += group) {
    std::vector<torch::Tensor> inputs;
    const std::int64_t last_call = std::min(calls, first_call + group);
    for (std::int64_t call = first_call; call < last_call; ++call) {
      const std::int64_t first = call * items_per_call, count = std::min(items_per_call, n - first);
      inputs.push_back(torch::from_blob(const_cast<float*>(pixels + first * image_floats), {count, 3, r, r}, torch::kFloat32)
                           .to(input_dtype));
    }
    const auto outputs = impl_->module->encode_image_each(inputs);
    for (std::int64_t call = first_call; call < last_call; ++call)
      done(call * items_per_call, impl_->to_matrix(outputs[static_cast<std::size_t>(call - first_call)]));
  }
}

io::FloatMatrix ClipModel::encode_images(const float* pixels, std::int64_t n) const {
  const int r = impl_->info.image_resolution;
  if (n == 0) return io::FloatMatrix(0, impl_->info.embed_dim);
  auto input = torch::from_blob(const_cast<float*>(pixels), {n, 3, r, r}, torch::kFloat32);
  auto& module = impl_->module;
  const auto input_dtype = impl_->image_input_dtype();
  return impl_->encode_rows(input, impl_->image_tokens(),
                            [&](const torch::Tensor& rows) { return module->encode_image(rows.to(input_dtype)); });
}

void ClipModel::check_token_ids(const std::int64_t* ids, std::int64_t n, std::int64_t length) const {
  if (length <= 0 || length > impl_->info.context_length) {
    throw InputError("token ids have length " + std::to_string(length) + "; the model takes 1.." +
                     std::to_string(impl_->info.context_length));
  }
  const auto vocab = impl_->module->config.vocab_size;
  for (std::int64_t i = 0; i < n * length; ++i) {
    if (ids[i] < 0 || ids[i] >= vocab) {
      throw InputError("token id " + std::to_string(ids[i]) + " at row " + std::to_string(i / length) +
                       " is outside the vocabulary (0.." + std::to_string(vocab - 1) + ")");
    }
  }
}

io::FloatMatrix ClipModel::encode_token_ids(const std::int64_t* ids, std::int64_t n, std::int64_t length) const {
  check_token_ids(ids, n, length);
  if (n == 0) return io::FloatMatrix(0, impl_->info.embed_dim);
  // The text tower stops at the batch's last end-of-text token.
  std::int64_t tokens = 1;
  for (std::int64_t i = 0; i < n; ++i) tokens = std::max(tokens, end_of_text_position(ids + i * length, length) + 1);
  auto input = torch::from_blob(const_cast<std::int64_t*>(ids), {n, length}, torch::kInt64);
  auto& module = impl_->module;
  return impl_->encode_rows(input, tokens, [&](const torch::Tensor& rows) { return module->encode_text(rows); });
}

void ClipModel::encode_token_id_calls(const std::int64_t* ids, std::int64_t length, const std::vector<std::int64_t>& rows,
                                      std::int64_t items_per_call, const CallDone& done) const {
  if (items_per_call <= 0) throw UsageError("--batch-size must be positive");
  const auto count = static_cast<std::int64_t>(rows.size());
  const std::int64_t calls = (count + items_per_call - 1) / items_per_call;
  auto gather = [&](std::int64_t call, std::vector<std::int64_t>& call_ids) {
    const std::int64_t first = call * items_per_call, n = std::min(items_per_call, count - first);
    call_ids.resize(static_cast<std::size_t>(n * length));
    for (std::int64_t k = 0; k < n; ++k) std::copy_n(ids + rows[first + k] * length, length, call_ids.data() + k * length);
    return n;
  };
  if (!impl_->calls_side_by_side(items_per_call, calls)) {
    std::vector<std::int64_t> call_ids;
    for (std::int64_t call = 0; call < calls; ++call) {
      const std::int64_t n = gather(call, call_ids);
      done(call * items_per_call, encode_token_ids(call_ids.data(), n, length));
    }
    return;
  }
  std::mutex done_mutex;
  auto& module = impl_->module;
  const std::int64_t group = impl_->calls_per_group(items_per_call);
  impl_->run_calls_side_by_side((calls + group - 1) / group, [&](std::int64_t g) {
    const std::int64_t first_call = g * group, group_calls = std::min(group, calls - first_call);
    std::vector<std::vector<std::int64_t>> call_ids(static_cast<std::size_t>(group_calls));
    std::vector<torch::Tensor> inputs;
    for (std::int64_t c = 0; c < group_calls; ++c) {
      auto& buffer = call_ids[static_cast<std::size_t>(c)];
      const std::int64_t n = gather(first_call + c, buffer);
      check_token_ids(buffer.data(), n, length);
      inputs.push_back(torch::from_blob(buffer.data(), {n, length}, torch::kInt64));
    }
    const auto outputs = module->encode_text_each(inputs);
    for (std::int64_t c = 0; c < group_calls; ++c) {
      const auto embeddings = impl_->to_matrix(outputs[static_cast<std::size_t>(c)]);
      std::lock_guard<std::mutex> lock(done_mutex);
      done((first_call + c) * items_per_call, embeddings);
    }
  });
}

io::FloatMatrix ClipModel::encode_texts(const std::vector<std::string>& texts) const {
  const int length = impl_->info.context_length;
  std::vector<std::int64_t> ids(texts.size() * static_cast<std::size_t>(length));
  tokenizer().tokenize_batch(texts, length, ids.data());
  return encode_token_ids(ids.data(), static_cast<std::int64_t>(texts.size()), length);
}

}  // namespace recap::models
