#pragma once
// T5 / FLAN-T5 (Hugging Face T5ForConditionalGeneration) for recap: load a Hugging Face
// folder, encode, teacher-forced logits, and generation (greedy, beam search with Hugging
// Face's semantics, top-k / nucleus / temperature sampling), batched, with a key/value
// cache. No torch types here (pimpl): tools that include this header compile quickly.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "recap/models/clip_model.h"  // Device, Precision
#include "recap/text/t5_tokenizer.h"

namespace recap::models {

// Rows of token ids (row-major, rows x cols), padded with 0 where shorter.
struct IdRows {
  std::int64_t rows = 0;
  std::int64_t cols = 0;
  std::vector<std::int64_t> values;

  IdRows() = default;
  IdRows(std::int64_t r, std::int64_t c, std::int64_t fill = 0)
      : rows(r), cols(c), values(static_cast<std::size_t>(r * c), fill) {}
  std::int64_t* row(std::int64_t i) { return values.data() + i * cols; }
  const std::int64_t* row(std::int64_t i) const { return values.data() + i * cols; }
  // Right-padded with `pad` to the longest list; `mask`, when given, gets 1 for real tokens.
  static IdRows from_lists(const std::vector<std::vector<std::int64_t>>& lists, std::int64_t pad = 0,
                           IdRows* mask = nullptr);
  // Row `i` up to and including the first `eos` (the whole row when there is none).
  std::vector<std::int64_t> until_eos(std::int64_t i, std::int64_t eos) const;
};

enum class Decoding { greedy, beam, sample };
// "greedy" | "beam" | "sample" | "topk" | "nucleus" ("topk"/"nucleus" are sampling with
// top_k / top_p; the caller sets the value). UsageError otherwise.
Decoding parse_decoding(const std::string& name);
std::string decoding_name(Decoding d);

struct GenerationOptions {
  Decoding decoding = Decoding::greedy;
  int max_new_tokens = 20;
  int min_new_tokens = 0;        // end-of-sequence is forbidden before this many tokens
  int num_beams = 1;             // beam search
  int num_return_sequences = 1;  // per input: best beams, or independent samples
  double length_penalty = 1.0;   // beam score = sum log p / generated_length ^ length_penalty
  bool early_stopping = false;   // Hugging Face's heuristic when false, stop at num_beams finished when true
  double temperature = 1.0;      // sampling: logits / temperature
  int top_k = 0;                 // sampling: keep the k most likely tokens (0: all)
  double top_p = 1.0;            // sampling: smallest set with cumulative probability >= top_p
  double repetition_penalty = 1.0;  // CTRL's penalty on tokens already generated (1: off)
  int no_repeat_ngram_size = 0;     // forbid repeating any n-gram of the generated text (0: off)
  std::uint64_t seed = 0;           // sampling: row r of the input uses a stream derived from (seed, seed_offset + r)
  std::uint64_t seed_offset = 0;
  // Sampling: when not empty, input r's stream is derived from (seed, seed_offsets[r]), one
  // per input, so that inputs gathered from anywhere sample what each would sample alone.
  std::vector<std::uint64_t> seed_offsets;
  bool use_cache = true;            // key/value cache in the decoder; false recomputes every step (benchmarks)

  void validate() const;  // UsageError for impossible combinations
};

struct Generation {
  // (inputs x num_return_sequences) rows, in input order, each starting with the decoder
  // start token, padded with the pad token after end-of-sequence, as Hugging Face's
  // generate() returns them.
  IdRows sequences;
  // Per row: beam search's length-normalised score; greedy/sampling: the sum of the
  // chosen tokens' log-probabilities (after temperature/top-k/top-p) up to end-of-sequence.
  std::vector<float> scores;
};

struct T5LoadOptions {
  Device device = Device::cpu;
  Precision precision = Precision::float32;
  int threads = 0;                 // LibTorch intra-op threads; <= 0: all cores
  bool load_tokenizer = true;      // spiece.model beside the weights (an error when missing)
};

struct T5Info {
  std::string path;
  int d_model = 0, d_kv = 0, d_ff = 0, num_heads = 0;
  int encoder_layers = 0, decoder_layers = 0;
  std::int64_t vocab_size = 0;
  int relative_attention_num_buckets = 32, relative_attention_max_distance = 128;
  std::string feed_forward;  // "relu", "gated-gelu_new", ...
  bool own_lm_head = false;  // lm_head.weight in the checkpoint (else the shared embedding)
  bool scale_decoder_outputs = false;
  double layer_norm_epsilon = 1e-6;
  std::int64_t decoder_start_token_id = 0, eos_token_id = 1, pad_token_id = 0;
  Device device = Device::cpu;
  Precision precision = Precision::float32;
  std::int64_t parameters = 0;
  std::string describe() const;
};

class T5Model {
 public:
  // `path`: a Hugging Face folder with config.json and model.safetensors (or a sharded
  // model.safetensors.index.json), plus spiece.model. Throws InputError for a folder that is
  // not a T5 model, weights that do not fit its config (listing the offenders), a tokenizer
  // whose vocabulary does not fit the model's; UsageError for an unavailable device.
  static T5Model load(const std::filesystem::path& path, const T5LoadOptions& options = {});
  // A model with the architecture of `config_json` (Hugging Face config.json text) and
  // random weights (normal, std 0.05, seeded); no tokenizer. For benchmarks and tests.
  static T5Model random(const std::string& config_json, std::uint64_t seed, const T5LoadOptions& options = {});

  T5Model(T5Model&&) noexcept;
  T5Model& operator=(T5Model&&) noexcept;
  ~T5Model();

  const T5Info& info() const;
  bool has_tokenizer() const;
  const text::T5Tokenizer& tokenizer() const;  // UsageError when none

  // Encoder output: rows x cols x d_model floats. `mask` (same shape as `ids`, 1 = token,
  // 0 = padding) may be null: every position counts.
  std::vector<float> encode(const IdRows& ids, const IdRows* mask) const;
  // Teacher-forced logits: rows x decoder_ids.cols x vocab_size floats.
  std::vector<float> logits(const IdRows& ids, const IdRows* mask, const IdRows& decoder_ids) const;
  Generation generate(const IdRows& ids, const IdRows* mask, const GenerationOptions& options) const;
  // Tokenises (end-of-sequence appended, truncated to `max_input_tokens` when > 0), pads,
  // generates; decode the sequences with tokenizer().decode.
  Generation generate(const std::vector<std::string>& prompts, const GenerationOptions& options,
                      std::int64_t max_input_tokens = 0) const;
  // One encoding of the inputs, then one generation per entry of `each` (ReCap's beams and
  // samples of the same prompts): the same results as separate calls, one encoder pass.
  std::vector<Generation> generate(const IdRows& ids, const IdRows* mask, const std::vector<GenerationOptions>& each) const;
  std::vector<Generation> generate(const std::vector<std::string>& prompts, const std::vector<GenerationOptions>& each,
                                   std::int64_t max_input_tokens = 0) const;

 private:
  struct Impl;
  explicit T5Model(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace recap::models
