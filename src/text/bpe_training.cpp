// Learning a CLIP byte-level BPE vocabulary: the classic merge loop (Sennrich et al.) over
// the words CLIP's own pre-tokeniser produces, with pair counts kept up to date
// incrementally so that only the words holding the merged pair are revisited.
#include "recap/text/bpe_training.h"

#include <map>
#include <optional>
#include <set>
#include <unordered_map>
#include <nlohmann/json.hpp>

#include "recap/common/error.h"
#include "recap/io/atomic_file.h"
#include "recap/text/clip_text.h"
#include "clip_bpe_alphabet.h"

namespace recap::text {
namespace {

using Pair = std::pair<std::int32_t, std::int32_t>;

// A distinct word of the corpus as symbol ids, and how often it occurs.
struct Word {
  std::vector<std::int32_t> symbols;
  std::int64_t count = 0;
};

// Occurrences of each adjacent pair over all words (weighted by word count), the words
// that may hold it, and the pairs ranked for the next merge.
class PairCounts {
 public:
  explicit PairCounts(const std::vector<std::string>& tokens) : ranked_(Order{&tokens}) {}

  // Adds (sign +1) or removes (sign -1) the pairs of word `index`.
  void update(const Word& word, std::size_t index, int sign) {
    for (std::size_t i = 0; i + 1 < word.symbols.size(); ++i) {
      const Pair pair{word.symbols[i], word.symbols[i + 1]};
      std::int64_t& count = count_[pair];
      ranked_.erase({count, pair});
      count += sign * word.count;
      if (count > 0 && banned_.count(pair) == 0) ranked_.insert({count, pair});
      if (sign > 0) words_[pair].insert(index);  // stale entries are harmless: merging there changes nothing
    }
  }

  // The most frequent pair (ties: smallest strings) and its count.
  std::optional<std::pair<Pair, std::int64_t>> best() const {
    if (ranked_.empty()) return std::nullopt;
    return std::make_pair(ranked_.begin()->second, ranked_.begin()->first);
  }

  void ban(const Pair& pair) {
    banned_.insert(pair);
    ranked_.erase({count_[pair], pair});
  }

  std::vector<std::size_t> words_with(const Pair& pair) const {
    const auto it = words_.find(pair);
    return it == words_.end() ? std::vector<std::size_t>() : std::vector<std::size_t>(it->second.begin(), it->second.end());
  }

 private:
  using Entry = std::pair<std::int64_t, Pair>;
  struct Order {
    const std::vector<std::string>* tokens;
    bool operator()(const Entry& x, const Entry& y) const {
      if (x.first != y.first) return x.first > y.first;
      const auto& t = *tokens;
      if (x.second.first != y.second.first) return t[x.second.first] < t[y.second.first];
      return t[x.second.second] < t[y.second.second];
    }
  };
  std::map<Pair, std::int64_t> count_;
  std::map<Pair, std::set<std::size_t>> words_;
  std::set<Entry, Order> ranked_;
  std::set<Pair> banned_;
};

// Replaces each (a, b), left to right without overlap, by `merged`: as ClipTokenizer's
// bpe() applies a merge, so that both reach the same segmentation.
void apply_merge(std::vector<std::int32_t>& symbols, const Pair& pair, std::int32_t merged) {
  std::vector<std::int32_t> next;
  next.reserve(symbols.size());
  for (std::size_t i = 0; i < symbols.size();) {
    if (i + 1 < symbols.size() && symbols[i] == pair.first && symbols[i + 1] == pair.second) {
      next.push_back(merged);
      i += 2;
    } else {
      next.push_back(symbols[i++]);
    }
  }
  symbols.swap(next);
}

}  // namespace

BpeVocabulary learn_clip_bpe(const std::vector<std::string>& texts, int merges, int min_frequency) {
  if (merges < 0) throw UsageError("the number of BPE merges must be >= 0, got " + std::to_string(merges));
  BpeVocabulary out;
  out.tokens = detail::clip_base_symbols();
  std::unordered_map<std::string, std::int32_t> id_of;
  for (std::size_t i = 0; i < out.tokens.size(); ++i) id_of.emplace(out.tokens[i], static_cast<std::int32_t>(i));

  // The distinct words exactly as encode() will see them (special tokens written in the
  // text are not words); a std::map gives them a fixed order.
  std::map<std::string, std::int64_t> counts;
  for (const auto& text : texts) {
    detail::split_clip_pieces(clip_clean_text(text), [&](detail::ClipPiece kind, const std::string& piece) {
      if (kind == detail::ClipPiece::word) ++counts[piece];
    });
  }
  std::vector<Word> words;
  for (const auto& [piece, count] : counts) {
    Word word;
    word.count = count;
    for (const auto& symbol : detail::clip_word_symbols(piece)) word.symbols.push_back(id_of.at(symbol));
    words.push_back(std::move(word));
  }

  PairCounts pairs(out.tokens);
  for (std::size_t w = 0; w < words.size(); ++w) pairs.update(words[w], w, +1);
  while (out.merges.size() < static_cast<std::size_t>(merges)) {
    const auto best = pairs.best();
    if (!best || best->second < std::max(min_frequency, 1)) break;
    const Pair pair = best->first;
    std::string merged = out.tokens[pair.first] + out.tokens[pair.second];
    // A second token with the same string would break vocab.json (token -> id) and the
    // rank order the tokenizer relies on.
    if (id_of.count(merged) != 0) {
      pairs.ban(pair);
      continue;
    }
    const auto id = static_cast<std::int32_t>(out.tokens.size());
    out.merges.emplace_back(out.tokens[pair.first], out.tokens[pair.second]);
    id_of.emplace(merged, id);
    out.tokens.push_back(std::move(merged));
    for (const std::size_t w : pairs.words_with(pair)) {
      pairs.update(words[w], w, -1);
      apply_merge(words[w].symbols, pair, id);
      pairs.update(words[w], w, +1);
    }
  }
  out.tokens.push_back(detail::kClipStartText);
  out.tokens.push_back(detail::kClipEndText);  // last: the highest id
  return out;
}

void write_clip_bpe(const BpeVocabulary& vocabulary, const std::filesystem::path& folder) {
  // ClipTokenizer refuses a merges.txt without merges: say so now, not at the first load.
  if (vocabulary.merges.empty())
    throw UsageError(folder.string() + ": the BPE vocabulary has no merges (corpus too small or min_frequency too high)");
  std::error_code ec;
  std::filesystem::create_directories(folder, ec);
  if (ec) throw UsageError(folder.string() + ": cannot create the folder: " + ec.message());
  nlohmann::ordered_json vocab = nlohmann::ordered_json::object();  // in id order, for readers
  for (std::size_t id = 0; id < vocabulary.tokens.size(); ++id) vocab[vocabulary.tokens[id]] = id;
  io::write_text_file(folder / "vocab.json", vocab.dump() + "\n");
  std::string merges = "#version: 0.2\n";
  for (const auto& [a, b] : vocabulary.merges) merges += a + " " + b + "\n";
  io::write_text_file(folder / "merges.txt", merges);
}

}  // namespace recap::text
