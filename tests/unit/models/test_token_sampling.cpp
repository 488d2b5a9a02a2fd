// The sampling warpers (src/models/token_sampling.cpp) against a reference written the
// way Hugging Face's TopPLogitsWarper reads: sort the whole row (stably, by score), keep
// the shortest prefix whose probability reaches top_p. And the draws against their
// renormalised probabilities.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <vector>

#include "token_sampling.h"

namespace {

using recap::models::detail::sample_token;
using recap::models::detail::sampling_support;
using recap::models::detail::SamplingWarpers;

std::vector<std::int64_t> reference_support(const std::vector<float>& logits, const SamplingWarpers& w) {
  const auto vocab = static_cast<std::int64_t>(logits.size());
  std::vector<double> z(logits.begin(), logits.end());
  for (double& v : z) v /= w.temperature;
  std::vector<std::int64_t> order(logits.size());
  std::iota(order.begin(), order.end(), std::int64_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) { return z[a] > z[b]; });
  if (w.top_k > 0 && w.top_k < vocab) {
    const double kth = z[order[w.top_k - 1]];
    order.erase(std::remove_if(order.begin(), order.end(), [&](std::int64_t j) { return z[j] < kth; }), order.end());
  }
  const double top = z[order.front()];
  long double total = 0;
  for (auto j : order) total += std::exp(static_cast<long double>(z[j] - top));
  if (w.top_p >= 1.0) return order;
  long double cumulative = 0;
  std::size_t cut = 0;
  while (cut < order.size() && cumulative < w.top_p * total) cumulative += std::exp(static_cast<long double>(z[order[cut++]] - top));
  order.resize(std::max<std::size_t>(cut, 1));
  return order;
}

std::vector<float> random_row(std::int64_t vocab, double spread, bool ties, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0f, static_cast<float>(spread));
  std::vector<float> row(static_cast<std::size_t>(vocab));
  for (auto& v : row) v = ties ? std::round(normal(rng) * 4) / 4 : normal(rng);  // ties: quarter steps
  return row;
}

TEST(TokenSampling, SupportIsTheSortedReferencesPrefix) {
  std::mt19937 rng(11);
  int checked = 0;
  for (std::int64_t vocab : {1, 7, 64, 65, 1000, 32128}) {
    for (double spread : {0.1, 1.0, 6.0}) {
      for (bool ties : {false, true}) {
        const auto row = random_row(vocab, spread, ties, rng);
        for (double top_p : {1e-9, 0.05, 0.5, 0.9, 0.999, 1.0}) {
          for (int top_k : {0, 1, 50}) {
            for (double temperature : {0.7, 1.0}) {
              const SamplingWarpers w{temperature, top_k, top_p};
              std::vector<double> p;
              auto got = sampling_support(row.data(), vocab, w, p);
              auto want = reference_support(row, w);
              std::sort(got.begin(), got.end());
              std::sort(want.begin(), want.end());
              ASSERT_EQ(got, want) << "vocab " << vocab << " spread " << spread << " ties " << ties << " top_p " << top_p
                                   << " top_k " << top_k << " temperature " << temperature;
              ++checked;
            }
          }
        }
      }
    }
  }
  EXPECT_EQ(checked, 6 * 3 * 2 * 6 * 3 * 2);
}

TEST(TokenSampling, DrawsFollowTheRenormalisedNucleus) {
  // Probabilities 0.4, 0.3, 0.15, 0.1, 0.05 (as logits): top_p 0.8 keeps the first three.
  const std::vector<float> row = {std::log(0.1f), std::log(0.4f), std::log(0.05f), std::log(0.3f), std::log(0.15f)};
  const SamplingWarpers w{1.0, 0, 0.8};
  std::mt19937_64 rng(3);
  std::vector<int> counts(row.size(), 0);
  const int draws = 200000;
  for (int i = 0; i < draws; ++i) {
    float logprob = 0;
    const auto token = sample_token(row.data(), static_cast<std::int64_t>(row.size()), w, rng, &logprob);
    ++counts[static_cast<std::size_t>(token)];
    if (token == 1) { EXPECT_NEAR(logprob, std::log(0.4 / 0.85), 1e-6); }
  }
  EXPECT_EQ(counts[0], 0);
  EXPECT_EQ(counts[2], 0);
  for (auto [token, p] : std::vector<std::pair<int, double>>{{1, 0.4 / 0.85}, {3, 0.3 / 0.85}, {4, 0.15 / 0.85}}) {
    const double sigma = std::sqrt(draws * p * (1 - p));
    EXPECT_NEAR(counts[token], draws * p, 5 * sigma) << "token " << token;
  }
}

TEST(TokenSampling, TinyTopPIsTheFirstBestId) {
  const std::vector<float> row = {0.5f, 2.0f, -1.0f, 2.0f};  // ids 1 and 3 tie: the lower wins
  std::mt19937_64 rng(5);
  float logprob = 1;
  EXPECT_EQ(sample_token(row.data(), 4, SamplingWarpers{1.0, 0, 1e-9}, rng, &logprob), 1);
  EXPECT_FLOAT_EQ(logprob, 0.0f);
}

}  // namespace
