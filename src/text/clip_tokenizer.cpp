// OpenAI CLIP's SimpleTokenizer (byte-level BPE) with Hugging Face or OpenAI vocabularies.
#include "recap/text/clip_tokenizer.h"

#include <unicode/uchar.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <limits>
#include <mutex>
#include <sstream>
#include <unordered_map>

#include "recap/common/error.h"
#include "recap/io/json_file.h"
#include "recap/text/clip_text.h"
#include "clip_bpe_alphabet.h"
#include "utf8.h"

namespace fs = std::filesystem;

namespace recap::text {

using detail::kClipEndText;
using detail::kClipStartText;
using detail::kClipWordEnd;

namespace {

// OpenAI's vocabulary keeps merges[1 : 49152 - 256 - 2 + 1] of the .gz file.
constexpr std::size_t kOpenAiMergeCount = 49152 - 256 - 2;

bool is_letter(char32_t c) { return (U_GET_GC_MASK(static_cast<UChar32>(c)) & U_GC_L_MASK) != 0; }
bool is_number(char32_t c) { return (U_GET_GC_MASK(static_cast<UChar32>(c)) & U_GC_N_MASK) != 0; }
bool is_space(char32_t c) { return u_isUWhiteSpace(static_cast<UChar32>(c)) != 0; }

// The reference pattern is compiled with re.IGNORECASE; on lower-cased text the only
// extra match this allows is U+017F (long s) for 's'.
bool matches_char(char32_t c, char pattern) { return c == char32_t(pattern) || (pattern == 's' && c == 0x17F); }

std::size_t match_literal(const std::u32string& s, std::size_t i, std::string_view literal) {
  if (i + literal.size() > s.size()) return 0;
  for (std::size_t k = 0; k < literal.size(); ++k) {
    if (!matches_char(s[i + k], literal[k])) return 0;
  }
  return literal.size();
}

std::uint64_t fnv1a(std::uint64_t hash, std::string_view bytes) {
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

std::string read_gzip(const fs::path& path) {
  gzFile file = gzopen(path.c_str(), "rb");
  if (!file) throw InputError(path.string() + ": cannot open");
  std::string content;
  std::array<char, 1 << 16> buffer;
  int n = 0;
  while ((n = gzread(file, buffer.data(), static_cast<unsigned>(buffer.size()))) > 0) content.append(buffer.data(), n);
  int error = 0;
  const char* message = gzerror(file, &error);
  const bool failed = n < 0 || (error != Z_OK && error != Z_STREAM_END);
  const std::string what = failed ? std::string(message ? message : "read error") : std::string();
  gzclose(file);
  if (failed) throw InputError(path.string() + ": not a readable gzip file (" + what + ")");
  return content;
}

std::vector<std::pair<std::string, std::string>> parse_merges(const std::string& text, const fs::path& path,
                                                              std::size_t limit) {
  std::vector<std::pair<std::string, std::string>> merges;
  std::istringstream in(text);
  std::string line;
  std::size_t line_number = 0;
  while (std::getline(in, line) && merges.size() < limit) {
    ++line_number;
    if (line_number == 1 && line.rfind("#version", 0) == 0) continue;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    const auto space = line.find(' ');
    if (space == std::string::npos || space == 0 || space + 1 == line.size() ||
        line.find(' ', space + 1) != std::string::npos) {
      throw InputError(path.string() + ": line " + std::to_string(line_number) + " is not a merge \"a b\"");
    }
    merges.emplace_back(line.substr(0, space), line.substr(space + 1));
  }
  if (merges.empty()) throw InputError(path.string() + ": no merges");
  return merges;
}

}  // namespace

namespace detail {

std::array<char32_t, 256> byte_to_unicode() {
  std::array<char32_t, 256> table{};
  std::array<bool, 256> printable{};
  for (int b = '!'; b <= '~'; ++b) printable[b] = true;
  for (int b = 0xA1; b <= 0xAC; ++b) printable[b] = true;
  for (int b = 0xAE; b <= 0xFF; ++b) printable[b] = true;
  int n = 0;
  for (int b = 0; b < 256; ++b) table[b] = printable[b] ? char32_t(b) : char32_t(256 + n++);
  return table;
}

std::vector<std::string> clip_base_symbols() {
  // bytes_to_unicode() lists the printable bytes first, then the rest in byte order.
  std::vector<int> order;
  for (int b = '!'; b <= '~'; ++b) order.push_back(b);
  for (int b = 0xA1; b <= 0xAC; ++b) order.push_back(b);
  for (int b = 0xAE; b <= 0xFF; ++b) order.push_back(b);
  for (int b = 0; b < 256; ++b) {
    if (std::find(order.begin(), order.end(), b) == order.end()) order.push_back(b);
  }
  const auto table = byte_to_unicode();
  std::vector<std::string> symbols;
  for (int b : order) {
    std::string symbol;
    append_utf8(table[b], symbol);
    symbols.push_back(symbol);
  }
  for (std::size_t i = 0; i < 256; ++i) symbols.push_back(symbols[i] + kClipWordEnd);
  return symbols;
}

std::vector<std::string> clip_word_symbols(std::string_view piece) {
  // The same start as Impl::bpe's (byte_symbol / byte_symbol_end), as strings.
  const auto table = byte_to_unicode();
  std::vector<std::string> symbols;
  for (std::size_t i = 0; i < piece.size(); ++i) {
    std::string symbol;
    append_utf8(table[static_cast<unsigned char>(piece[i])], symbol);
    if (i + 1 == piece.size()) symbol += kClipWordEnd;
    symbols.push_back(std::move(symbol));
  }
  return symbols;
}

void split_clip_pieces(std::string_view cleaned, const std::function<void(ClipPiece, const std::string&)>& on_piece) {
  std::u32string s;
  decode_utf8(cleaned, s);
  const std::size_t n = s.size();
  std::size_t i = 0;
  std::string piece;
  auto emit = [&](std::size_t from, std::size_t to) {
    piece = encode_utf8(std::u32string_view(s.data() + from, to - from));
    on_piece(ClipPiece::word, piece);
  };
  static constexpr std::string_view kContractions[] = {"'s", "'t", "'re", "'ve", "'m", "'ll", "'d"};
  while (i < n) {
    if (std::size_t len = match_literal(s, i, kClipStartText)) {
      on_piece(ClipPiece::start_text, kClipStartText);
      i += len;
      continue;
    }
    if (std::size_t len = match_literal(s, i, kClipEndText)) {
      on_piece(ClipPiece::end_text, kClipEndText);
      i += len;
      continue;
    }
    std::size_t len = 0;
    for (auto contraction : kContractions) {
      if ((len = match_literal(s, i, contraction)) != 0) break;
    }
    if (len) {
      emit(i, i + len);
      i += len;
      continue;
    }
    if (is_letter(s[i])) {
      std::size_t j = i + 1;
      while (j < n && is_letter(s[j])) ++j;
      emit(i, j);
      i = j;
    } else if (is_number(s[i])) {
      emit(i, i + 1);
      ++i;
    } else if (!is_space(s[i])) {
      std::size_t j = i + 1;
      while (j < n && !is_space(s[j]) && !is_letter(s[j]) && !is_number(s[j])) ++j;
      emit(i, j);
      i = j;
    } else {
      ++i;
    }
  }
}

}  // namespace detail

struct ClipTokenizer::Impl {
  std::unordered_map<std::string, std::int32_t> vocab;
  std::vector<std::string> id_to_token;
  // (left id << 32 | right id) -> (rank, merged id)
  std::unordered_map<std::uint64_t, std::pair<std::int32_t, std::int32_t>> merges;
  std::array<std::int32_t, 256> byte_symbol{};
  std::array<std::int32_t, 256> byte_symbol_end{};
  std::array<int, 0x200> unicode_to_byte{};
  std::int32_t start = -1;
  std::int32_t end = -1;
  std::string fingerprint;
  mutable std::mutex cache_mutex;
  mutable std::unordered_map<std::string, std::vector<std::int32_t>> cache;

  void build(const std::vector<std::pair<std::string, std::string>>& merge_list, const std::string& source) {
    auto id_of = [&](const std::string& token, const char* role) {
      auto it = vocab.find(token);
      if (it == vocab.end()) throw InputError(source + ": " + role + " \"" + token + "\" is not in the vocabulary");
      return it->second;
    };
    const auto table = detail::byte_to_unicode();
    unicode_to_byte.fill(-1);
    for (int b = 0; b < 256; ++b) {
      std::string symbol;
      detail::append_utf8(table[b], symbol);
      unicode_to_byte[table[b]] = b;
      byte_symbol[b] = id_of(symbol, "byte symbol");
      byte_symbol_end[b] = id_of(symbol + kClipWordEnd, "byte symbol");
    }
    merges.reserve(merge_list.size() * 2);
    for (std::size_t rank = 0; rank < merge_list.size(); ++rank) {
      const auto& [a, b] = merge_list[rank];
      const std::uint64_t key = (std::uint64_t(std::uint32_t(id_of(a, "merge part"))) << 32) |
                                std::uint32_t(id_of(b, "merge part"));
      merges.emplace(key, std::make_pair(std::int32_t(rank), id_of(a + b, "merge result")));
    }
    start = id_of(kClipStartText, "special token");
    end = id_of(kClipEndText, "special token");
    id_to_token.assign(vocab.size(), std::string());
    for (const auto& [token, id] : vocab) {
      if (id < 0 || std::size_t(id) >= vocab.size() || !id_to_token[id].empty()) {
        throw InputError(source + ": vocabulary ids are not 0.." + std::to_string(vocab.size() - 1) + " each once");
      }
      id_to_token[id] = token;
    }
    std::uint64_t hash = 0xcbf29ce484222325ULL;
    for (const auto& token : id_to_token) hash = fnv1a(fnv1a(hash, token), "\n");
    for (const auto& [a, b] : merge_list) hash = fnv1a(fnv1a(fnv1a(fnv1a(hash, a), " "), b), "\n");
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
    fingerprint = hex;
  }

  // bpe(token) of the reference: merge the lowest-ranked adjacent pair everywhere, repeat.
  void bpe(std::string_view piece, std::vector<std::int32_t>& out) const {
    {
      std::lock_guard<std::mutex> lock(cache_mutex);
      auto it = cache.find(std::string(piece));
      if (it != cache.end()) {
        out.insert(out.end(), it->second.begin(), it->second.end());
        return;
      }
    }
    std::vector<std::int32_t> word;
    word.reserve(piece.size());
    for (std::size_t i = 0; i < piece.size(); ++i) {
      const auto b = static_cast<unsigned char>(piece[i]);
      word.push_back(i + 1 == piece.size() ? byte_symbol_end[b] : byte_symbol[b]);
    }
    std::vector<std::int32_t> next;
    while (word.size() > 1) {
      std::int32_t best_rank = std::numeric_limits<std::int32_t>::max();
      std::uint64_t best_key = 0;
      std::int32_t merged = -1;
      for (std::size_t i = 0; i + 1 < word.size(); ++i) {
        const std::uint64_t key = (std::uint64_t(std::uint32_t(word[i])) << 32) | std::uint32_t(word[i + 1]);
        auto it = merges.find(key);
        if (it != merges.end() && it->second.first < best_rank) {
          best_rank = it->second.first;
          best_key = key;
          merged = it->second.second;
        }
      }
      if (merged < 0) break;
      const auto left = std::int32_t(best_key >> 32), right = std::int32_t(best_key & 0xFFFFFFFFu);
      next.clear();
      for (std::size_t i = 0; i < word.size();) {
        if (i + 1 < word.size() && word[i] == left && word[i + 1] == right) {
          next.push_back(merged);
          i += 2;
        } else {
          next.push_back(word[i++]);
        }
      }
      word.swap(next);
    }
    out.insert(out.end(), word.begin(), word.end());
    std::lock_guard<std::mutex> lock(cache_mutex);
    if (cache.size() > 200000) cache.clear();
    cache.emplace(std::string(piece), std::move(word));
  }
};

ClipTokenizer::ClipTokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ClipTokenizer::ClipTokenizer(ClipTokenizer&&) noexcept = default;
ClipTokenizer& ClipTokenizer::operator=(ClipTokenizer&&) noexcept = default;
ClipTokenizer::~ClipTokenizer() = default;

ClipTokenizer ClipTokenizer::from_vocab_merges(const fs::path& vocab_json, const fs::path& merges_txt) {
  auto impl = std::make_unique<Impl>();
  const nlohmann::json vocab = io::read_json(vocab_json);
  if (!vocab.is_object() || vocab.empty()) throw InputError(vocab_json.string() + ": expected a JSON object token -> id");
  for (const auto& [token, id] : vocab.items()) {
    if (!id.is_number_integer()) throw InputError(vocab_json.string() + ": id of \"" + token + "\" is not an integer");
    impl->vocab.emplace(token, id.get<std::int32_t>());
  }
  const auto merges = parse_merges(io::read_file(merges_txt), merges_txt, std::numeric_limits<std::size_t>::max());
  impl->build(merges, vocab_json.parent_path().string() + " (vocab.json/merges.txt)");
  return ClipTokenizer(std::move(impl));
}

ClipTokenizer ClipTokenizer::from_bpe_gz(const fs::path& bpe_gz) {
  auto impl = std::make_unique<Impl>();
  const auto merges = parse_merges(read_gzip(bpe_gz), bpe_gz, kOpenAiMergeCount);
  // SimpleTokenizer: byte symbols, the same with </w>, one entry per merge, then specials.
  std::vector<std::string> tokens = detail::clip_base_symbols();
  for (const auto& [a, b] : merges) tokens.push_back(a + b);
  tokens.push_back(kClipStartText);
  tokens.push_back(kClipEndText);
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    // A later duplicate overwrites the id, as the reference's dict(zip(vocab, range)) does.
    impl->vocab[tokens[i]] = static_cast<std::int32_t>(i);
  }
  if (impl->vocab.size() != tokens.size()) throw InputError(bpe_gz.string() + ": merges produce duplicate tokens");
  impl->build(merges, bpe_gz.string());
  return ClipTokenizer(std::move(impl));
}

ClipTokenizer ClipTokenizer::load(const fs::path& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    if (fs::exists(path / "vocab.json") && fs::exists(path / "merges.txt")) {
      return from_vocab_merges(path / "vocab.json", path / "merges.txt");
    }
    if (fs::exists(path / "bpe_simple_vocab_16e6.txt.gz")) return from_bpe_gz(path / "bpe_simple_vocab_16e6.txt.gz");
    throw InputError(path.string() +
                     ": no CLIP tokenizer here (expected vocab.json + merges.txt or bpe_simple_vocab_16e6.txt.gz)");
  }
  if (!fs::exists(path, ec)) throw InputError(path.string() + ": no such file or directory");
  const std::string name = path.filename().string();
  if (name.size() > 3 && name.compare(name.size() - 3, 3, ".gz") == 0) return from_bpe_gz(path);
  if (name == "vocab.json" || name == "merges.txt") {
    return from_vocab_merges(path.parent_path() / "vocab.json", path.parent_path() / "merges.txt");
  }
  throw InputError(path.string() +
                   ": not a CLIP tokenizer (expected a folder with vocab.json + merges.txt, or bpe_simple_vocab_16e6.txt.gz)");
}

std::vector<std::int32_t> ClipTokenizer::encode(std::string_view text) const {
  std::vector<std::int32_t> ids;
  detail::split_clip_pieces(clip_clean_text(text), [&](detail::ClipPiece kind, const std::string& piece) {
    if (kind == detail::ClipPiece::start_text) {
      ids.push_back(impl_->start);
    } else if (kind == detail::ClipPiece::end_text) {
      ids.push_back(impl_->end);
    } else {
      impl_->bpe(piece, ids);
    }
  });
  return ids;
}

std::vector<std::int64_t> ClipTokenizer::tokenize(std::string_view text, int context_length, bool* truncated) const {
  if (context_length < 2) throw UsageError("context length must be at least 2, got " + std::to_string(context_length));
  const auto ids = encode(text);
  std::vector<std::int64_t> row(static_cast<std::size_t>(context_length), 0);
  row[0] = impl_->start;
  const std::size_t body = std::min(ids.size(), static_cast<std::size_t>(context_length) - 1);
  std::copy(ids.begin(), ids.begin() + body, row.begin() + 1);
  const bool cut = ids.size() + 2 > static_cast<std::size_t>(context_length);
  row[cut ? context_length - 1 : ids.size() + 1] = impl_->end;
  if (truncated) *truncated = cut;
  return row;
}

void ClipTokenizer::tokenize_batch(const std::vector<std::string>& texts, int context_length, std::int64_t* out) const {
  for (std::size_t i = 0; i < texts.size(); ++i) {
    const auto row = tokenize(texts[i], context_length);
    std::copy(row.begin(), row.end(), out + i * static_cast<std::size_t>(context_length));
  }
}

std::string ClipTokenizer::decode(const std::vector<std::int64_t>& ids) const {
  std::string symbols;
  for (std::int64_t id : ids) {
    if (id == impl_->end) break;
    if (id == impl_->start) continue;
    if (id < 0 || id >= vocab_size()) throw InputError("token id " + std::to_string(id) + " is outside the vocabulary");
    symbols += impl_->id_to_token[id];
  }
  std::u32string chars;
  detail::decode_utf8(symbols, chars);
  std::string bytes;
  for (char32_t c : chars) {
    const int b = c < impl_->unicode_to_byte.size() ? impl_->unicode_to_byte[c] : -1;
    if (b >= 0) bytes.push_back(static_cast<char>(b));
  }
  // '</w>' is made of printable bytes, so it survives the byte mapping verbatim.
  std::string text;
  for (std::size_t pos = 0;;) {
    const auto hit = bytes.find(kClipWordEnd, pos);
    text += bytes.substr(pos, hit == std::string::npos ? std::string::npos : hit - pos);
    if (hit == std::string::npos) break;
    text += ' ';
    pos = hit + 4;
  }
  // Invalid UTF-8 (a word cut inside a character) becomes U+FFFD, as errors="replace".
  std::string clean;
  std::u32string decoded;
  for (std::size_t pos = 0; pos < text.size();) {
    std::size_t bad = 0;
    if (detail::decode_utf8(std::string_view(text).substr(pos), decoded, &bad)) {
      clean += text.substr(pos);
      break;
    }
    clean += text.substr(pos, bad);
    detail::append_utf8(0xFFFD, clean);
    pos += bad + 1;
  }
  return clean;
}

std::int32_t ClipTokenizer::start_id() const { return impl_->start; }
std::int32_t ClipTokenizer::end_id() const { return impl_->end; }
std::int64_t ClipTokenizer::vocab_size() const { return static_cast<std::int64_t>(impl_->id_to_token.size()); }
const std::string& ClipTokenizer::fingerprint() const { return impl_->fingerprint; }

}  // namespace recap::text
