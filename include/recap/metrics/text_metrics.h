#pragma once
// BLEU-1..4, ROUGE-L and CIDEr-D exactly as pycocoevalcap computes them, on captions that
// are already tokenised (space-separated tokens, as its PTBTokenizer leaves them).
//
// Inputs are per image: one candidate and its references. Corpus scores follow
// pycocoevalcap: BLEU sums n-gram statistics over the corpus ("closest" reference length,
// its 1e-9 / 1e-15 smoothing constants); ROUGE-L and CIDEr-D average per-image scores.
#include <memory>
#include <string>
#include <vector>

namespace recap::metrics {

struct ImageCaptions {
  std::string candidate;
  std::vector<std::string> references;
};

struct CorpusScore {
  double corpus = 0;
  std::vector<double> per_image;
};

// The captions with words and n-grams (n <= 4) interned, built once and shared by BLEU
// and CIDEr-D.
class EncodedCorpus {
 public:
  explicit EncodedCorpus(const std::vector<ImageCaptions>& images);
  ~EncodedCorpus();
  EncodedCorpus(EncodedCorpus&&) noexcept;
  struct Data;
  const Data& data() const { return *data_; }

 private:
  std::unique_ptr<Data> data_;
};

// One image's BLEU statistics: candidate length, chosen reference length, and per order
// the candidate's n-gram count ("guess") and clipped matches ("correct").
struct BleuStats {
  double test_length = 0, ref_length = 0;
  std::vector<double> guess, correct;
};
std::vector<BleuStats> bleu_stats(const std::vector<ImageCaptions>& images, int max_n = 4);
std::vector<BleuStats> bleu_stats(const EncodedCorpus& corpus);
// Corpus BLEU-1..max_n from the statistics of the images listed in `rows` (repeats
// allowed: bootstrap resamples).
std::vector<double> corpus_bleu(const std::vector<BleuStats>& stats, const std::vector<std::size_t>& rows);

// Corpus and per-image BLEU-n from precomputed statistics: result[n-1].
std::vector<CorpusScore> bleu_scores(const std::vector<BleuStats>& stats);

// pycocoevalcap's tokenisation step: the candidates in one PTB run and all references in
// another (text/ptb_tokenizer.h), in place. Throws std::invalid_argument on bad UTF-8.
void ptb_tokenize_captions(std::vector<ImageCaptions>& images);

// BLEU-n for n = 1..4: result[n-1]. Per-image values are pycocoevalcap's per-sentence
// BLEU (same smoothing, the image's own brevity penalty).
std::vector<CorpusScore> bleu(const std::vector<ImageCaptions>& images, int max_n = 4);

// ROUGE-L F-measure (beta = 1.2) from the longest common subsequence, taking the best
// precision and the best recall over the references separately, as pycocoevalcap does.
CorpusScore rouge_l(const std::vector<ImageCaptions>& images);

// CIDEr-D: TF-IDF n-gram vectors (n = 1..4, document frequencies from the references of
// the evaluated set), clipped counts, Gaussian length penalty (sigma = 6), x10.
CorpusScore cider_d(const std::vector<ImageCaptions>& images, double sigma = 6.0);
CorpusScore cider_d(const EncodedCorpus& corpus, double sigma = 6.0);

}  // namespace recap::metrics
