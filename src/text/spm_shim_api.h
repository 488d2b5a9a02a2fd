#pragma once
// The C API of the sentencepiece shim (src/spm_shim/spm_shim.cpp, librecap_spm.so) as
// function pointers, resolved once per process by t5_tokenizer.cpp, which finds and
// loads the shim (docs/architecture.md, "sentencepiece is loaded in isolation"); shared
// with sentencepiece_training.cpp so that both use the one loaded copy (private to src/text).
#include <cstddef>
#include <filesystem>

namespace recap::text::detail {

// Must equal recap_spm_api_version() in the shim; the loader refuses any other.
inline constexpr int kSpmShimApiVersion = 2;

struct SpmShimApi {
  std::filesystem::path path;
  void* (*load)(const char*, char*, std::size_t) = nullptr;
  void (*free_handle)(void*) = nullptr;
  int (*piece_size)(void*) = nullptr;
  int (*piece_kind)(void*, int) = nullptr;
  int (*id_to_piece)(void*, int, char*, std::size_t) = nullptr;
  long (*encode)(void*, const char*, std::size_t, int*, std::size_t, char*, std::size_t) = nullptr;
  char* (*decode)(void*, const int*, std::size_t, char*, std::size_t) = nullptr;
  void (*free_string)(char*) = nullptr;
  // recap_spm_train(args, sentences, lengths, count, seed, model_size, error, error_capacity)
  char* (*train)(const char*, const char* const*, const std::size_t*, std::size_t, unsigned, std::size_t*, char*,
                 std::size_t) = nullptr;
};

// The loaded shim; throws Error (with the places searched) when it cannot be loaded.
const SpmShimApi& spm_shim();

}  // namespace recap::text::detail
