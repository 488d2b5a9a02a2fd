// Generation loops. Scores follow Hugging Face's generate(): log-softmax in float32, beam
// candidates 2 x num_beams per input from the flattened (beam, token) scores, finished
// hypotheses scored sum_logprobs / generated_length ^ length_penalty, and its early-stop
// heuristic (early_stopping=false: stop when the best running beam, normalised at the
// current length, cannot beat the worst kept hypothesis).
#include "t5_generate.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <limits>
#include <numeric>
#include <random>

#include "token_sampling.h"

namespace recap::models::detail {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// A per-sequence random stream: the same (seed, input index, return index) always samples
// the same tokens, whatever the batch it runs in.
std::uint64_t splitmix(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

// Runs fn(begin, end) over contiguous ranges of [0, n) on the OpenMP team of the dense
// products (ScopedProductThreads sets its size). Its threads wait, spinning, between the
// products of a step; threads of our own would have shared the cores with those spinners.
// The first exception is rethrown here, once every range has finished.
template <typename Fn>
void on_product_team(std::int64_t n, Fn&& fn) {
  std::exception_ptr error;
#pragma omp parallel
  {
    const std::int64_t threads = omp_get_num_threads(), t = omp_get_thread_num();
    const std::int64_t per = (n + threads - 1) / threads, begin = std::min(n, t * per), end = std::min(n, begin + per);
    try {
      if (begin < end) fn(begin, end);
    } catch (...) {
#pragma omp critical(recap_product_team_error)
      if (!error) error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);
}

// Runs the decoder one step for every row and returns float32 logits [R, V] on the CPU.
class Stepper {
 public:
  // `positions`: how many decoder positions the generation runs at most (its cache's reserve).
  Stepper(T5& net, const torch::Tensor& states, const torch::Tensor& mask, bool use_cache, std::int64_t positions)
      : net_(net), states_(states), mask_(mask), use_cache_(use_cache) {
    if (use_cache_) {
      cache_ = net_->start_decoder(states_, mask_);
      cache_.reserve = positions;
    }
  }
  // `sequences`: the rows so far (decoder start first), the last token new.
  torch::Tensor next(const std::vector<std::vector<std::int64_t>>& sequences) {
    const auto rows = static_cast<std::int64_t>(sequences.size());
    const auto device = states_.device();
    torch::Tensor hidden;
    if (use_cache_) {
      std::vector<std::int64_t> last(static_cast<std::size_t>(rows));
      for (std::int64_t r = 0; r < rows; ++r) last[r] = sequences[r].back();
      const auto ids = torch::tensor(last, torch::kInt64).view({rows, 1}).to(device);
      hidden = net_->decode(ids, cache_);
    } else {
      // Everything recomputed from the start: the cost the cache saves.
      const auto length = static_cast<std::int64_t>(sequences.front().size());
      std::vector<std::int64_t> flat;
      for (const auto& s : sequences) flat.insert(flat.end(), s.begin(), s.end());
      const auto ids = torch::tensor(flat, torch::kInt64).view({rows, length}).to(device);
      auto fresh = net_->start_decoder(states_, mask_);
      hidden = net_->decode(ids, fresh).slice(1, length - 1, length);
    }
    return net_->head(hidden.select(1, 0)).to(torch::kCPU, torch::kFloat32).contiguous();
  }
  // Each row becomes `times` consecutive copies (beams, samples). With the cache, the
  // cross-attention keys and values stay once per input (DecoderCache): projecting and
  // copying them per row cost most of the time of ReCap's 36 samples per image.
  void repeat_each(std::int64_t times) {
    if (use_cache_) {
      cache_.repeat_each(times);
    } else {
      states_ = states_.repeat_interleave(times, 0);
      if (mask_.defined()) mask_ = mask_.repeat_interleave(times, 0);
    }
  }
  void reorder(const std::vector<std::int64_t>& rows) {
    const auto index = torch::tensor(rows, torch::kInt64).to(states_.device());
    if (use_cache_) {
      cache_.reorder(index);
    } else {
      states_ = states_.index_select(0, index);
      if (mask_.defined()) mask_ = mask_.index_select(0, index);
    }
  }

 private:
  T5& net_;
  torch::Tensor states_, mask_;
  bool use_cache_;
  DecoderCache cache_;
};

// Logits processors that depend on the sequence so far (Hugging Face's order: repetition
// penalty, no-repeat n-grams, minimum length), applied in place to one row.
void process_row(float* scores, std::int64_t vocab, const std::vector<std::int64_t>& sequence,
                 const GenerationOptions& o, std::int64_t eos) {
  if (o.repetition_penalty != 1.0) {
    std::vector<std::int64_t> seen(sequence.begin(), sequence.end());
    std::sort(seen.begin(), seen.end());
    seen.erase(std::unique(seen.begin(), seen.end()), seen.end());
    for (const auto id : seen) {
      float& s = scores[id];
      s = s < 0 ? static_cast<float>(s * o.repetition_penalty) : static_cast<float>(s / o.repetition_penalty);
    }
  }
  const auto n = static_cast<std::size_t>(o.no_repeat_ngram_size);
  if (n > 0 && sequence.size() + 1 >= n) {
    // Tokens that would complete an n-gram already present.
    const std::size_t len = sequence.size();
    for (std::size_t start = 0; start + n <= len; ++start) {
      bool match = true;
      for (std::size_t j = 0; j + 1 < n && match; ++j) match = sequence[start + j] == sequence[len - (n - 1) + j];
      if (match) scores[sequence[start + n - 1]] = kNegInf;
    }
  }
  if (static_cast<int>(sequence.size()) - 1 < o.min_new_tokens && eos >= 0 && eos < vocab) scores[eos] = kNegInf;
}

bool needs_row_processing(const GenerationOptions& o) {
  return o.repetition_penalty != 1.0 || o.no_repeat_ngram_size > 0 || o.min_new_tokens > 0;
}

void log_softmax_row(float* row, std::int64_t vocab) {
  float top = kNegInf;
  for (std::int64_t j = 0; j < vocab; ++j) top = std::max(top, row[j]);
  double sum = 0;
  for (std::int64_t j = 0; j < vocab; ++j) sum += std::exp(static_cast<double>(row[j]) - top);
  const float lse = top + static_cast<float>(std::log(sum));
  for (std::int64_t j = 0; j < vocab; ++j) row[j] -= lse;
}

DecodeResult greedy_or_sample(T5& net, const torch::Tensor& states, const torch::Tensor& mask,
                              const GenerationOptions& o) {
  const bool sample = o.decoding == Decoding::sample;
  const int copies = sample ? o.num_return_sequences : 1;
  const auto inputs = states.size(0);
  const auto rows = inputs * copies;
  const auto& cfg = net->config;
  std::vector<std::vector<std::int64_t>> seqs(static_cast<std::size_t>(rows), {cfg.decoder_start_token_id});
  std::vector<float> scores(static_cast<std::size_t>(rows), 0.0f);
  std::vector<char> done(static_cast<std::size_t>(rows), 0);
  std::vector<std::mt19937_64> rngs;
  if (sample) {
    for (std::int64_t r = 0; r < rows; ++r) {
      const std::uint64_t input = o.seed_offsets.empty() ? o.seed_offset + static_cast<std::uint64_t>(r / copies)
                                                         : o.seed_offsets[static_cast<std::size_t>(r / copies)];
      rngs.emplace_back(splitmix(splitmix(o.seed) ^ splitmix(input * 1000003ULL + static_cast<std::uint64_t>(r % copies))));
    }
  }
  const SamplingWarpers warpers{o.temperature, o.top_k, o.top_p};
  Stepper stepper(net, states, mask, o.use_cache, o.max_new_tokens);
  if (copies > 1) stepper.repeat_each(copies);
  for (int step = 0; step < o.max_new_tokens; ++step) {
    auto logits = stepper.next(seqs);
    const auto vocab = logits.size(1);
    float* data = logits.data_ptr<float>();
    // Rows are independent (each has its own random stream), so they are drawn on every
    // thread: 576 rows x 32,128 ids per step for ReCap's 36 samples of 16 images.
    on_product_team(rows, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t r = begin; r < end; ++r) {
        if (done[r]) {
          seqs[r].push_back(cfg.pad_token_id);
          continue;
        }
        float* row = data + r * vocab;
        if (needs_row_processing(o)) process_row(row, vocab, seqs[r], o, cfg.eos_token_id);
        std::int64_t token;
        float logprob;
        if (sample) {
          token = sample_token(row, vocab, warpers, rngs[r], &logprob);
        } else {
          token = std::max_element(row, row + vocab) - row;  // first maximum, as torch.argmax
          log_softmax_row(row, vocab);
          logprob = row[token];
        }
        scores[r] += logprob;
        seqs[r].push_back(token);
        if (token == cfg.eos_token_id) done[r] = 1;
      }
    });
    if (std::all_of(done.begin(), done.end(), [](char d) { return d != 0; })) break;
  }
  return {std::move(seqs), std::move(scores)};
}

struct Hypothesis {
  float score;
  std::vector<std::int64_t> tokens;
};

DecodeResult beam_search(T5& net, const torch::Tensor& states, const torch::Tensor& mask, const GenerationOptions& o) {
  const auto& cfg = net->config;
  const auto batch = states.size(0);
  const int beams = o.num_beams;
  const int keep = 2 * beams;  // one end-of-sequence id: 2 x num_beams candidates
  const std::int64_t max_length = 1 + o.max_new_tokens;
  constexpr float kDead = -1.0e9f;

  Stepper stepper(net, states, mask, o.use_cache, o.max_new_tokens);
  stepper.repeat_each(beams);
  std::vector<std::vector<std::int64_t>> running(static_cast<std::size_t>(batch * beams), {cfg.decoder_start_token_id});
  std::vector<float> running_scores(static_cast<std::size_t>(batch * beams), kDead);
  for (std::int64_t b = 0; b < batch; ++b) running_scores[b * beams] = 0.0f;  // only the first beam is live at the start
  std::vector<std::vector<Hypothesis>> finished(static_cast<std::size_t>(batch));
  std::vector<char> improvable(static_cast<std::size_t>(batch), 1);

  std::int64_t cur_len = 1;
  while (cur_len < max_length) {
    auto logp = stepper.next(running);
    const auto vocab = logp.size(1);
    float* data = logp.data_ptr<float>();
    for (std::int64_t r = 0; r < batch * beams; ++r) {
      float* row = data + r * vocab;
      log_softmax_row(row, vocab);
      if (needs_row_processing(o)) process_row(row, vocab, running[r], o, cfg.eos_token_id);
      for (std::int64_t j = 0; j < vocab; ++j) row[j] += running_scores[r];
    }
    const auto top = logp.view({batch, beams * vocab}).topk(keep, 1, /*largest=*/true, /*sorted=*/true);
    const auto values = std::get<0>(top).contiguous(), indices = std::get<1>(top).contiguous();
    const float* value = values.data_ptr<float>();
    const std::int64_t* index = indices.data_ptr<std::int64_t>();

    std::vector<std::vector<std::int64_t>> next_running;
    std::vector<float> next_scores;
    std::vector<std::int64_t> source_rows;
    bool all_hit = true;
    const bool last_step = cur_len + 1 >= max_length;
    for (std::int64_t b = 0; b < batch; ++b) {
      struct Candidate {
        float score, running_score;
        std::int64_t beam, token;
        bool hit;
      };
      std::vector<Candidate> cands;
      for (int c = 0; c < keep; ++c) {
        const auto flat = index[b * keep + c];
        const float score = value[b * keep + c];
        const bool hit = flat % vocab == cfg.eos_token_id || last_step;
        all_hit = all_hit && hit;
        cands.push_back({score, hit ? score + kDead : score, flat / vocab, flat % vocab, hit});
      }
      // Finished hypotheses: only candidates among the top num_beams may finish.
      auto& fin = finished[b];
      const bool full_and_stop = o.early_stopping && static_cast<int>(fin.size()) >= beams;
      if (improvable[b] && !full_and_stop) {
        const double norm = std::pow(static_cast<double>(cur_len + 1 - 1), o.length_penalty);
        for (int c = 0; c < beams; ++c) {
          if (!cands[c].hit) continue;
          auto tokens = running[b * beams + cands[c].beam];
          tokens.push_back(cands[c].token);
          fin.push_back({static_cast<float>(cands[c].score / norm), std::move(tokens)});
        }
        std::stable_sort(fin.begin(), fin.end(), [](const Hypothesis& x, const Hypothesis& y) { return x.score > y.score; });
        if (static_cast<int>(fin.size()) > beams) fin.resize(static_cast<std::size_t>(beams));
      }
      // The next running beams: the best candidates that did not finish.
      std::vector<int> order(static_cast<std::size_t>(keep));
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(),
                       [&](int x, int y) { return cands[x].running_score > cands[y].running_score; });
      for (int k = 0; k < beams; ++k) {
        const auto& c = cands[order[k]];
        auto tokens = running[b * beams + c.beam];
        tokens.push_back(c.token);
        next_running.push_back(std::move(tokens));
        next_scores.push_back(c.running_score);
        source_rows.push_back(b * beams + c.beam);
      }
    }
    running = std::move(next_running);
    running_scores = std::move(next_scores);
    stepper.reorder(source_rows);
    ++cur_len;
    bool any_improvable = false, all_full = true;
    for (std::int64_t b = 0; b < batch; ++b) {
      const auto& fin = finished[b];
      const bool full = static_cast<int>(fin.size()) >= beams;
      all_full = all_full && full;
      const double best_running = running_scores[b * beams] / std::pow(static_cast<double>(cur_len - 1), o.length_penalty);
      const double worst_finished = full ? fin.back().score : kDead;
      improvable[b] = improvable[b] && best_running > worst_finished;
      any_improvable = any_improvable || improvable[b];
    }
    if (!any_improvable || (o.early_stopping && all_full) || all_hit) break;
  }

  DecodeResult result;
  for (std::int64_t b = 0; b < batch; ++b) {
    auto& fin = finished[b];
    for (int i = 0; i < o.num_return_sequences; ++i) {
      if (i < static_cast<int>(fin.size())) {
        result.sequences.push_back(fin[i].tokens);
        result.scores.push_back(fin[i].score);
      } else {  // cannot happen: the last step finishes the top beams
        result.sequences.push_back(running[b * beams + i]);
        result.scores.push_back(running_scores[b * beams + i]);
      }
    }
  }
  return result;
}

}  // namespace

DecodeResult run_decoding(T5& net, const torch::Tensor& states, const torch::Tensor& mask, const GenerationOptions& o) {
  if (o.decoding == Decoding::beam) return beam_search(net, states, mask, o);
  return greedy_or_sample(net, states, mask, o);
}

}  // namespace recap::models::detail
