// librecap_spm: sentencepiece behind a plain C API.
//
// Why a separate shared library: Debian's libsentencepiece carries its own protobuf 3.14
// while LibTorch links protobuf 3.21; a program linking both crashes in protobuf's static
// initialisation before main (docs/architecture.md, "sentencepiece is loaded in isolation"). recap never links sentencepiece; it
// dlopen()s this library with RTLD_LOCAL | RTLD_DEEPBIND (see src/text/t5_tokenizer.cpp),
// so sentencepiece binds to its own protobuf and nothing leaks into the process.
// Only C types cross the boundary; no C++ exception escapes it.
#include <sentencepiece_processor.h>

#include <cstdlib>
#include <memory>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#define RECAP_SPM_API extern "C" __attribute__((visibility("default")))

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

}  // namespace

// Version of this C API; the loader refuses a shim with another one.
RECAP_SPM_API int recap_spm_api_version() { return 1; }

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
