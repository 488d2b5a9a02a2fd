#pragma once
// Approximate scores Q Bᵀ with bfloat16 inputs and float32 accumulation through oneDNN's
// matmul, which runs on Intel AMX tiles or AVX-512 BF16 instructions where the CPU has
// them (~10x float32 SGEMM on AMX). Private to the retrieval layer: the screened search
// turns these approximate scores into exact results.
#include <cstdint>
#include <memory>
#include <string>

namespace recap::retrieval {

// float32 -> bfloat16, round to nearest even (inputs are finite).
void to_bfloat16(const float* src, std::uint16_t* dst, std::int64_t count, int threads);

class Bf16ScoreGemm {
 public:
  // Scores for up to `max_queries` x `max_base` at dimension d.
  Bf16ScoreGemm(std::int64_t max_queries, std::int64_t max_base, std::int64_t d);
  ~Bf16ScoreGemm();

  // out[i * nb + j] = Σ_c q[i, c] b[j, c] for nq <= max_queries, nb <= max_base.
  void run(const std::uint16_t* q, std::int64_t nq, const std::uint16_t* b, std::int64_t nb, float* out);

  // oneDNN's name for the implementation it chose, e.g. "brg:avx512_core_amx_bf16".
  std::string implementation() const;
  // True when that implementation has native bfloat16 arithmetic (AMX or AVX-512 BF16);
  // elsewhere oneDNN emulates it and the screened search is not worth it.
  bool native() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace recap::retrieval
