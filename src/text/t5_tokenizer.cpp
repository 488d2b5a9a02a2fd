// T5 tokenizer over the dlopen()ed sentencepiece shim (src/spm_shim/spm_shim.cpp).
#include "recap/text/t5_tokenizer.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <mutex>
#include <regex>

#include "recap/common/error.h"
#include "recap/io/json_file.h"
#include "spm_shim_api.h"

#ifndef RECAP_SPM_SHIM_BUILD_PATH
#define RECAP_SPM_SHIM_BUILD_PATH ""
#endif

namespace fs = std::filesystem;

namespace recap::text {
namespace {
// AddressSanitizer's dlopen refuses RTLD_DEEPBIND (google/sanitizers#611). The sanitizer
// build (scripts/sanitize.sh) therefore loads the shim, built uninstrumented there, into a
// link namespace of its own (dlmopen LM_ID_NEWLM): its sentencepiece and protobuf 3.14
// cannot meet LibTorch's protobuf 3.21 there either. Every other build uses RTLD_DEEPBIND,
// which keeps one copy of the C and C++ runtimes.
void* open_shim(const std::filesystem::path& path) {
#ifdef __SANITIZE_ADDRESS__
  return ::dlmopen(LM_ID_NEWLM, path.c_str(), RTLD_NOW | RTLD_LOCAL);
#else
  return ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
#endif
}
}  // namespace

namespace {

constexpr const char* kShimName = "librecap_spm.so";

fs::path executable_dir() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path() : exe.parent_path();
}

std::vector<fs::path> shim_candidates() {
  std::vector<fs::path> paths;
  if (const char* env = std::getenv("RECAP_SPM_SHIM"); env != nullptr && *env != '\0') paths.emplace_back(env);
  const fs::path exe = executable_dir();
  if (!exe.empty()) {
    paths.push_back(exe / kShimName);                      // build tree: tools and the shim side by side
    paths.push_back(exe.parent_path() / kShimName);        // build/tests/* -> build/
    paths.push_back(exe.parent_path() / "lib" / "recap" / kShimName);  // installed: bin/ + lib/recap/
    paths.push_back(exe.parent_path() / "lib" / kShimName);
  }
  if (*RECAP_SPM_SHIM_BUILD_PATH != '\0') paths.emplace_back(RECAP_SPM_SHIM_BUILD_PATH);
  return paths;
}

template <typename F>
void resolve(void* library, const fs::path& path, const char* name, F& target) {
  target = reinterpret_cast<F>(::dlsym(library, name));
  if (target == nullptr) throw Error(ExitCode::internal, path.string() + ": not a recap sentencepiece shim (no " + name + ")");
}

}  // namespace

const detail::SpmShimApi& detail::spm_shim() {
  static std::once_flag once;
  static SpmShimApi api;
  static std::string failure;
  std::call_once(once, [] {
    std::string tried;
    for (const auto& candidate : shim_candidates()) {
      std::error_code ec;
      if (!fs::is_regular_file(candidate, ec)) {
        tried += (tried.empty() ? "" : ", ") + candidate.string();
        continue;
      }
      // RTLD_LOCAL keeps sentencepiece's symbols out of the global namespace and
      // RTLD_DEEPBIND makes the shim and its dependencies prefer their own symbols
      // (its protobuf 3.14) over those already loaded (LibTorch's protobuf 3.21).
      void* library = open_shim(candidate);
      if (library == nullptr) {
        const char* why = ::dlerror();
        failure = candidate.string() + ": cannot load the sentencepiece shim (" + (why ? why : "dlopen failed") + ")";
        return;
      }
      try {
        int (*version)() = nullptr;
        resolve(library, candidate, "recap_spm_api_version", version);
        if (version() != kSpmShimApiVersion) throw Error(ExitCode::internal, candidate.string() + ": sentencepiece shim of another version");
        resolve(library, candidate, "recap_spm_load", api.load);
        resolve(library, candidate, "recap_spm_free", api.free_handle);
        resolve(library, candidate, "recap_spm_piece_size", api.piece_size);
        resolve(library, candidate, "recap_spm_piece_kind", api.piece_kind);
        resolve(library, candidate, "recap_spm_id_to_piece", api.id_to_piece);
        resolve(library, candidate, "recap_spm_encode", api.encode);
        resolve(library, candidate, "recap_spm_decode", api.decode);
        resolve(library, candidate, "recap_spm_free_string", api.free_string);
        resolve(library, candidate, "recap_spm_train", api.train);
      } catch (const Error& e) {
        failure = e.what();
        api = SpmShimApi{};
        return;
      }
      api.path = candidate;
      return;
    }
    failure = std::string("the sentencepiece shim ") + kShimName + " was not found (looked at " + tried +
              "); build target recap_spm or set RECAP_SPM_SHIM to its path";
  });
  if (api.load == nullptr) throw Error(ExitCode::internal, failure);
  return api;
}

namespace {
using detail::spm_shim;
using ShimApi = detail::SpmShimApi;
}  // namespace

struct T5Tokenizer::Impl {
  const ShimApi* api = nullptr;
  void* handle = nullptr;
  fs::path model_path;
  std::int64_t pieces = 0;
  int extra_ids = 100;
  std::vector<std::uint8_t> kinds;  // per piece: 0 normal, 1 control, 2 unknown, 3 unused, 4 byte

  ~Impl() {
    if (handle != nullptr) api->free_handle(handle);
  }

  std::vector<std::int64_t> encode_plain(const std::string& text) const {
    std::vector<std::int64_t> out;
    if (text.empty()) return out;
    char error[512] = {};
    std::vector<int> ids(text.size() + 16);
    long n = api->encode(handle, text.data(), text.size(), ids.data(), ids.size(), error, sizeof error);
    if (n > static_cast<long>(ids.size())) {
      ids.resize(static_cast<std::size_t>(n));
      n = api->encode(handle, text.data(), text.size(), ids.data(), ids.size(), error, sizeof error);
    }
    if (n < 0) throw InputError(model_path.string() + ": sentencepiece could not encode the text (" + error + ")");
    out.assign(ids.begin(), ids.begin() + n);
    return out;
  }
};

T5Tokenizer::T5Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
T5Tokenizer::T5Tokenizer(T5Tokenizer&&) noexcept = default;
T5Tokenizer& T5Tokenizer::operator=(T5Tokenizer&&) noexcept = default;
T5Tokenizer::~T5Tokenizer() = default;

fs::path T5Tokenizer::shim_path() { return spm_shim().path; }

T5Tokenizer T5Tokenizer::load(const fs::path& path, int extra_ids) {
  std::error_code ec;
  const fs::path model = fs::is_directory(path, ec) ? path / "spiece.model" : path;
  if (!fs::is_regular_file(model, ec)) {
    throw InputError(model.string() + ": no sentencepiece model (T5 folders hold spiece.model)");
  }
  if (extra_ids < 0) {
    extra_ids = 100;
    const fs::path config = model.parent_path() / "tokenizer_config.json";
    if (fs::exists(config, ec)) {
      const auto j = io::read_json(config);
      if (j.contains("extra_ids") && j["extra_ids"].is_number_integer()) extra_ids = j["extra_ids"].get<int>();
    }
  }
  const ShimApi& api = spm_shim();
  auto impl = std::make_unique<Impl>();
  impl->api = &api;
  impl->model_path = model;
  impl->extra_ids = extra_ids;
  char error[512] = {};
  impl->handle = api.load(model.c_str(), error, sizeof error);
  if (impl->handle == nullptr) throw InputError(model.string() + ": not a readable sentencepiece model (" + error + ")");
  impl->pieces = api.piece_size(impl->handle);
  if (impl->pieces < 3) throw InputError(model.string() + ": sentencepiece model has only " + std::to_string(impl->pieces) + " pieces");
  impl->kinds.resize(static_cast<std::size_t>(impl->pieces));
  for (int i = 0; i < impl->pieces; ++i) impl->kinds[i] = static_cast<std::uint8_t>(api.piece_kind(impl->handle, i));
  T5Tokenizer tokenizer(std::move(impl));
  // T5's fixed special ids; a model trained otherwise would silently produce wrong text.
  if (tokenizer.piece(0) != "<pad>" || tokenizer.piece(1) != "</s>" || tokenizer.piece(2) != "<unk>") {
    throw InputError(model.string() + ": not a T5 sentencepiece model (ids 0, 1, 2 are \"" + tokenizer.piece(0) +
                     "\", \"" + tokenizer.piece(1) + "\", \"" + tokenizer.piece(2) + "\"; T5 has <pad>, </s>, <unk>)");
  }
  return tokenizer;
}

std::int64_t T5Tokenizer::piece_size() const { return impl_->pieces; }
std::int64_t T5Tokenizer::vocab_size() const { return impl_->pieces + impl_->extra_ids; }
int T5Tokenizer::extra_ids() const { return impl_->extra_ids; }
const fs::path& T5Tokenizer::model_path() const { return impl_->model_path; }

std::int64_t T5Tokenizer::sentinel_id(int i) const {
  if (i < 0 || i >= impl_->extra_ids) {
    throw UsageError("<extra_id_" + std::to_string(i) + ">: the tokenizer has " + std::to_string(impl_->extra_ids) +
                     " sentinels");
  }
  return vocab_size() - 1 - i;
}

std::string T5Tokenizer::piece(std::int64_t id) const {
  if (id >= impl_->pieces && id < vocab_size()) return "<extra_id_" + std::to_string(vocab_size() - 1 - id) + ">";
  char buffer[256];
  const int n = impl_->api->id_to_piece(impl_->handle, static_cast<int>(id), buffer, sizeof buffer);
  if (n < 0) return "";
  if (n < static_cast<int>(sizeof buffer)) return std::string(buffer, static_cast<std::size_t>(n));
  std::string big(static_cast<std::size_t>(n) + 1, '\0');
  impl_->api->id_to_piece(impl_->handle, static_cast<int>(id), big.data(), big.size());
  big.resize(static_cast<std::size_t>(n));
  return big;
}

bool T5Tokenizer::is_special(std::int64_t id) const {
  if (id < 0 || id >= impl_->pieces) return true;  // sentinels and padding rows of the model
  const auto kind = impl_->kinds[static_cast<std::size_t>(id)];
  return kind == 1 || kind == 2;  // control (<pad>, </s>) or unknown
}

std::vector<std::int64_t> T5Tokenizer::encode(const std::string& text, bool add_eos, std::int64_t max_length) const {
  // Special tokens written in the text are tokens of their own, as Hugging Face's added
  // tokens are; the text between them is encoded with whitespace at the seams trimmed.
  static const std::regex special(R"(<extra_id_(\d+)>|</s>|<pad>|<unk>)");
  std::vector<std::int64_t> ids;
  auto trim = [](std::string s) {
    const auto b = s.find_first_not_of(" \t\n\r");
    if (b == std::string::npos) return std::string();
    return s.substr(b, s.find_last_not_of(" \t\n\r") - b + 1);
  };
  auto append = [&](const std::string& segment) {
    const auto part = impl_->encode_plain(segment);
    ids.insert(ids.end(), part.begin(), part.end());
  };
  auto begin = std::sregex_iterator(text.begin(), text.end(), special);
  std::size_t last = 0;
  bool any = false;
  for (auto it = begin; it != std::sregex_iterator(); ++it) {
    const auto& m = *it;
    std::int64_t id = -1;
    if (m[1].matched) {
      const long index = std::strtol(m[1].str().c_str(), nullptr, 10);
      if (index >= 0 && index < impl_->extra_ids) id = sentinel_id(static_cast<int>(index));
    } else {
      id = m.str() == "</s>" ? eos_id() : m.str() == "<pad>" ? pad_id() : unk_id();
    }
    if (id < 0) continue;  // <extra_id_N> beyond the sentinels: ordinary text
    const std::string before = text.substr(last, static_cast<std::size_t>(m.position()) - last);
    append(any ? trim(before) : before.substr(0, before.find_last_not_of(" \t\n\r") + 1));
    ids.push_back(id);
    last = static_cast<std::size_t>(m.position() + m.length());
    any = true;
  }
  std::string rest = text.substr(last);
  if (any) rest = trim(rest);
  append(rest);
  if (add_eos) ids.push_back(eos_id());
  if (max_length > 0 && static_cast<std::int64_t>(ids.size()) > max_length) {
    ids.resize(static_cast<std::size_t>(max_length));
    if (add_eos) ids.back() = eos_id();
  }
  return ids;
}

std::string T5Tokenizer::decode(const std::vector<std::int64_t>& ids, bool skip_special) const {
  std::vector<int> kept;
  kept.reserve(ids.size());
  std::string text;
  char error[512] = {};
  auto flush = [&] {
    if (kept.empty()) return;
    char* out = impl_->api->decode(impl_->handle, kept.data(), kept.size(), error, sizeof error);
    if (out == nullptr) throw InputError(impl_->model_path.string() + ": sentencepiece could not decode (" + error + ")");
    text += out;
    impl_->api->free_string(out);
    kept.clear();
  };
  for (const auto id : ids) {
    if (skip_special && is_special(id)) continue;
    if (id >= 0 && id < impl_->pieces && impl_->kinds[static_cast<std::size_t>(id)] != 1) {
      kept.push_back(static_cast<int>(id));
    } else {
      // Control pieces (sentencepiece decodes them to nothing) and sentinels (not pieces
      // at all) are written as their names, as Hugging Face does without skipping.
      flush();
      if (id >= 0 && id < vocab_size()) text += piece(id);
    }
  }
  flush();
  return text;
}

}  // namespace recap::text
