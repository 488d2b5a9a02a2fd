// librecap_spm: sentencepiece behind a plain C API.
//
// Why a separate shared library: Debian's libsentencepiece carries its own protobuf 3.14
// while LibTorch links protobuf 3.21; a program linking both crashes in protobuf's static
// initialisation before main (docs/architecture.md, "sentencepiece is loaded in isolation"). recap never links sentencepiece; it
// dlopen()s this library with RTLD_LOCAL | RTLD_DEEPBIND (see src/text/t5_tokenizer.cpp),
// so sentencepiece binds to its own protobuf and nothing leaks into the process.
// Only C types cross the boundary; no C++ exception escapes it.
#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <cstdlib>
#include <memory>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#define RECAP_SPM_API extern "C" __attribute__((visibility("default")))

// sentencepiece's log threshold (0 info .. 3 fatal), exported by libsentencepiece but not
// declared in its public headers.
namespace sentencepiece::logging {
int GetMinLogLevel();
void SetMinLogLevel(int level);
}  // namespace sentencepiece::logging

namespace {

struct Handle {
  sentencepiece::SentencePieceProcessor processor;
};

void copy_message(const std::string& message, char* error, std::size_t capacity) {
  if (error == nullptr || capacity == 0) return;
  const std::size_t n = message.size() < capacity - 1 ? message.size() : capacity - 1;
  std::memcpy(error, message.data(), n);
  error[n] = '\0';
}

// The training sentences, handed to the trainer from memory: no input file, so that no
// temporary path ends up in the model's trainer_spec and the model bytes are reproducible.
class Sentences : public sentencepiece::SentenceIterator {
 public:
  Sentences(const char* const* texts, const std::size_t* lengths, std::size_t count)
      : texts_(texts), lengths_(lengths), count_(count) {
    load();
  }
  bool done() const override { return index_ >= count_; }
  void Next() override {
    ++index_;
    load();
  }
  const std::string& value() const override { return value_; }
  sentencepiece::util::Status status() const override { return sentencepiece::util::Status(); }  // default: OK

 private:
  void load() {
    if (!done()) value_.assign(texts_[index_], lengths_[index_]);
  }
  const char* const* texts_;
  const std::size_t* lengths_;
  std::size_t count_;
  std::size_t index_ = 0;
  std::string value_;
};

}  // namespace

// Version of this C API; the loader refuses a shim with another one.
RECAP_SPM_API int recap_spm_api_version() { return 2; }  // 2: recap_spm_train

// Returns a handle, or null with a message in `error`.
RECAP_SPM_API void* recap_spm_load(const char* model_path, char* error, std::size_t error_capacity) {
  try {
    auto handle = std::make_unique<Handle>();
    const auto status = handle->processor.Load(model_path);
    if (!status.ok()) {
      copy_message(status.ToString(), error, error_capacity);
      return nullptr;
    }
    return handle.release();
  } catch (const std::exception& e) {
    copy_message(e.what(), error, error_capacity);
  } catch (...) {
    copy_message("unknown error in sentencepiece", error, error_capacity);
  }
  return nullptr;
}

RECAP_SPM_API void recap_spm_free(void* handle) { delete static_cast<Handle*>(handle); }

RECAP_SPM_API int recap_spm_piece_size(void* handle) { return static_cast<Handle*>(handle)->processor.GetPieceSize(); }

// Piece kinds: 0 normal, 1 control, 2 unknown, 3 unused, 4 byte.
RECAP_SPM_API int recap_spm_piece_kind(void* handle, int id) {
  const auto& p = static_cast<Handle*>(handle)->processor;
  if (p.IsControl(id)) return 1;
  if (p.IsUnknown(id)) return 2;
  if (p.IsUnused(id)) return 3;
  if (p.IsByte(id)) return 4;
  return 0;
}

// Copies piece `id` into `out` (NUL-terminated); returns its length, or -1 when `id` is
// outside the vocabulary. A return >= capacity means the piece was truncated.
RECAP_SPM_API int recap_spm_id_to_piece(void* handle, int id, char* out, std::size_t capacity) {
  const auto& p = static_cast<Handle*>(handle)->processor;
  if (id < 0 || id >= p.GetPieceSize()) return -1;
  const std::string& piece = p.IdToPiece(id);
  copy_message(piece, out, capacity);
  return static_cast<int>(piece.size());
}

// Encodes `text` (UTF-8, `length` bytes) into ids. Returns the number of ids; only the
// first `capacity` are written (call again with a bigger buffer when the return exceeds
// it). Returns -1 on failure with a message in `error`.
RECAP_SPM_API long recap_spm_encode(void* handle, const char* text, std::size_t length, int* out,
                                    std::size_t capacity, char* error, std::size_t error_capacity) {
  try {
    std::vector<int> ids;
    const auto status = static_cast<Handle*>(handle)->processor.Encode(std::string(text, length), &ids);
    if (!status.ok()) {
      copy_message(status.ToString(), error, error_capacity);
      return -1;
    }
    for (std::size_t i = 0; i < ids.size() && i < capacity; ++i) out[i] = ids[i];
    return static_cast<long>(ids.size());
  } catch (const std::exception& e) {
    copy_message(e.what(), error, error_capacity);
  }
  return -1;
}

// Decodes ids into text. Returns a malloc'd NUL-terminated string the caller releases
// with recap_spm_free_string, or null with a message in `error`.
RECAP_SPM_API char* recap_spm_decode(void* handle, const int* ids, std::size_t count, char* error,
                                     std::size_t error_capacity) {
  try {
    std::string text;
    const auto status = static_cast<Handle*>(handle)->processor.Decode(std::vector<int>(ids, ids + count), &text);
    if (!status.ok()) {
      copy_message(status.ToString(), error, error_capacity);
      return nullptr;
    }
    char* out = static_cast<char*>(std::malloc(text.size() + 1));
    if (out == nullptr) throw std::bad_alloc();
    std::memcpy(out, text.c_str(), text.size() + 1);
    return out;
  } catch (const std::exception& e) {
    copy_message(e.what(), error, error_capacity);
  }
  return nullptr;
}

RECAP_SPM_API void recap_spm_free_string(char* text) { std::free(text); }

// Trains a model on `count` sentences (`lengths[i]` bytes each) with the trainer flags in
// `args` ("--name=value" separated by spaces; no input or model_prefix: both stay in
// memory). `seed` seeds sentencepiece's random generator (process-wide within the shim)
// unless it is 0xFFFFFFFF, which sentencepiece reserves for std::random_device.
// Returns the serialized model (malloc'd; release with recap_spm_free_string) and its size
// in *model_size, or null with a message in `error`.
RECAP_SPM_API char* recap_spm_train(const char* args, const char* const* sentences, const std::size_t* lengths,
                                    std::size_t count, unsigned seed, std::size_t* model_size, char* error,
                                    std::size_t error_capacity) {
  // The trainer logs progress to std::cerr, starting before it parses `args`. Loaded with
  // RTLD_DEEPBIND, sentencepiece binds std::cerr to libstdc++'s own copy, which is never
  // constructed when the executable has a copy relocation of std::cerr (any PIE program
  // that uses it): writing there crashes. Only fatal messages are let through (the
  // process ends on those anyway); errors come back as the status.
  const int log_level = sentencepiece::logging::GetMinLogLevel();
  sentencepiece::logging::SetMinLogLevel(3);
  struct Restore {
    int level;
    ~Restore() { sentencepiece::logging::SetMinLogLevel(level); }
  } restore{log_level};
  try {
    if (seed != 0xFFFFFFFFu) sentencepiece::SetRandomGeneratorSeed(seed);
    Sentences input(sentences, lengths, count);
    std::string model;
    const auto status = sentencepiece::SentencePieceTrainer::Train(args, &input, &model);
    if (!status.ok()) {
      copy_message(status.ToString(), error, error_capacity);
      return nullptr;
    }
    char* out = static_cast<char*>(std::malloc(model.size() + 1));
    if (out == nullptr) throw std::bad_alloc();
    std::memcpy(out, model.data(), model.size());
    out[model.size()] = '\0';
    *model_size = model.size();
    return out;
  } catch (const std::exception& e) {
    copy_message(e.what(), error, error_capacity);
  } catch (...) {
    copy_message("unknown error in the sentencepiece trainer", error, error_capacity);
  }
  return nullptr;
}
