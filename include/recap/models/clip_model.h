#pragma once
// A CLIP model as the rest of recap uses it: load the weights a user downloaded, turn
// preprocessed pixels and token ids into embeddings. No torch types here (pimpl), so
// tools that include this header compile quickly.
//
// Layouts, detected from the path:
//   - a Hugging Face folder: config.json + model.safetensors (or a sharded
//     model.safetensors.index.json), vocab.json + merges.txt, preprocessor_config.json;
//   - an OpenAI TorchScript archive (ViT-B-32.pt, RN50.pt, ... as OpenAI publishes them);
//   - a safetensors file in OpenAI key layout ("visual.conv1.weight", ...), as OpenCLIP
//     and others store CLIP.
// The tokenizer for the OpenAI layouts is looked for beside the weights (vocab.json +
// merges.txt or bpe_simple_vocab_16e6.txt.gz) unless a path is given.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "recap/io/matrix.h"
#include "recap/text/clip_tokenizer.h"
#include "recap/vision/preprocess.h"

namespace recap::models {

enum class Device { cpu, cuda };
enum class Precision { float32, float16, bfloat16 };

Device parse_device(const std::string& name);        // "cpu" | "cuda"; UsageError otherwise
// Whether this LibTorch has CUDA and sees a GPU: what --device cuda needs.
bool cuda_available();
Precision parse_precision(const std::string& name);  // "float32" | "float16" | "bfloat16" (fp32/fp16/bf16)
std::string precision_name(Precision p);

// Where a row of CLIP token ids ends: its end-of-text token, the first highest id (CLIP's
// vocabulary ends with it, and the model pools there, as OpenAI's argmax). The text tower
// never looks past it, so a row's tokens are this position + 1.
std::int64_t end_of_text_position(const std::int64_t* row, std::int64_t length);

struct ClipLoadOptions {
  Device device = Device::cpu;
  Precision precision = Precision::float32;
  int threads = 0;  // LibTorch intra-op threads; <= 0: all cores
  // Attention heads: 0 means from the model (config.json, TorchScript graph, safetensors
  // metadata "text_heads"/"vision_heads"), else OpenAI's rule width / 64.
  int text_heads = 0;
  int vision_heads = 0;
  std::filesystem::path tokenizer;  // empty: beside the weights
};

struct ClipInfo {
  std::string layout;        // "hf-folder" | "openai-torchscript" | "openai-safetensors"
  std::string architecture;  // human-readable sizes
  std::string path;
  int image_resolution = 0;
  int embed_dim = 0;
  int context_length = 0;
  bool vit = true;
  Device device = Device::cpu;
  Precision precision = Precision::float32;
  // Digest of the weights' values, dtype and architecture: embeddings made with the same
  // fingerprint (and preprocessing) are interchangeable.
  std::string fingerprint;
};

class ClipModel {
 public:
  // Throws InputError for missing/unknown files and for weights that do not fit the
  // architecture (listing the first offending names and shapes), UsageError for an
  // unavailable device or precision.
  static ClipModel load(const std::filesystem::path& path, const ClipLoadOptions& options = {});

  ClipModel(ClipModel&&) noexcept;
  ClipModel& operator=(ClipModel&&) noexcept;
  ~ClipModel();

  const ClipInfo& info() const;
  const vision::PreprocessConfig& preprocess_config() const;
  bool has_tokenizer() const;
  const text::ClipTokenizer& tokenizer() const;  // UsageError when none was found

  // `pixels`: n x 3 x R x R float32 (R = image_resolution), already normalised.
  // Returns n x embed_dim: the projected, un-normalised image features.
  io::FloatMatrix encode_images(const float* pixels, std::int64_t n) const;
  // Encodes the n images of `pixels` in calls of `items_per_call` images and hands each
  // call's embeddings to done(first, embeddings), in order, `first` being its first
  // image. Each call's embeddings are those encode_images gives for its images. Up to
  // calls_encoded_together(items_per_call) small calls walk through the layers together,
  // each layer's weights read from memory once for all of them: hand over at least that
  // many calls at once.
  using CallDone = std::function<void(std::int64_t first, const io::FloatMatrix& embeddings)>;
  void encode_image_calls(const float* pixels, std::int64_t n, std::int64_t items_per_call, const CallDone& done) const;
  std::int64_t calls_encoded_together(std::int64_t items_per_call) const;
  // Throws InputError naming the first row (0-based, in the order given) whose ids do not
  // fit this model: a length outside 1..context_length or an id outside the vocabulary.
  void check_token_ids(const std::int64_t* ids, std::int64_t n, std::int64_t length) const;
  // `ids`: n x length token ids (length <= context_length), end-of-text the highest id;
  // checked as check_token_ids does.
  io::FloatMatrix encode_token_ids(const std::int64_t* ids, std::int64_t n, std::int64_t length) const;
  // Encodes the token-id rows `rows` (indices into `ids`, n x length) in calls of
  // `items_per_call` rows, in that order, and hands each call's embeddings to
  // done(first, embeddings), `first` being the position in `rows` of its first row. Each
  // call's embeddings are those encode_token_ids gives for its rows. Where calls are too
  // small to share every thread, several run at once, one per thread: `done` is then
  // called from those threads, one call at a time, in no fixed order. Each call's ids are
  // checked as encode_token_ids checks them (rows named by their place in the call), and
  // an error in any call is thrown here once every thread has stopped.
  void encode_token_id_calls(const std::int64_t* ids, std::int64_t length, const std::vector<std::int64_t>& rows,
                             std::int64_t items_per_call, const CallDone& done) const;
  // Tokenises (context_length, truncating) then encodes.
  io::FloatMatrix encode_texts(const std::vector<std::string>& texts) const;
  // exp(logit_scale): CLIP's temperature for logits = scale * cos.
  float logit_scale() const;

 private:
  struct Impl;
  explicit ClipModel(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace recap::models
