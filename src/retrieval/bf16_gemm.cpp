#include "bf16_gemm.h"

#include <cstring>
#include <map>
#include <oneapi/dnnl/dnnl.hpp>
#include <utility>

#include "recap/common/parallel.h"

namespace recap::retrieval {

void to_bfloat16(const float* src, std::uint16_t* dst, std::int64_t count, int threads) {
  parallel_ranges(count, threads, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) {
      std::uint32_t bits;
      std::memcpy(&bits, src + i, 4);
      bits += 0x7fffu + ((bits >> 16) & 1u);  // round half to even on the dropped 16 bits
      dst[i] = static_cast<std::uint16_t>(bits >> 16);
    }
  });
}

struct Bf16ScoreGemm::State {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  std::int64_t d;
  // One primitive per (nq, nb) shape seen: full blocks plus the ragged last ones.
  std::map<std::pair<std::int64_t, std::int64_t>, dnnl::matmul::primitive_desc> descs;
  std::map<std::pair<std::int64_t, std::int64_t>, dnnl::matmul> primitives;
  std::string implementation;

  dnnl::matmul& primitive(std::int64_t nq, std::int64_t nb) {
    const auto key = std::make_pair(nq, nb);
    auto it = primitives.find(key);
    if (it != primitives.end()) return it->second;
    using dt = dnnl::memory::data_type;
    using tag = dnnl::memory::format_tag;
    const dnnl::memory::desc q_md({nq, d}, dt::bf16, tag::ab);
    const dnnl::memory::desc b_md({d, nb}, dt::bf16, tag::ba);  // the base's row-major n x d, read as d x n
    const dnnl::memory::desc c_md({nq, nb}, dt::f32, tag::ab);
    auto pd = dnnl::matmul::primitive_desc(dnnl::matmul::desc(q_md, b_md, c_md), engine);
    if (implementation.empty()) implementation = pd.impl_info_str();
    descs.emplace(key, pd);
    return primitives.emplace(key, dnnl::matmul(pd)).first->second;
  }
};

Bf16ScoreGemm::Bf16ScoreGemm(std::int64_t max_queries, std::int64_t max_base, std::int64_t d)
    : state_(std::make_unique<State>()) {
  state_->d = d;
  state_->primitive(max_queries, max_base);
}

Bf16ScoreGemm::~Bf16ScoreGemm() = default;

void Bf16ScoreGemm::run(const std::uint16_t* q, std::int64_t nq, const std::uint16_t* b, std::int64_t nb,
                        float* out) {
  auto& mm = state_->primitive(nq, nb);
  const auto& pd = state_->descs.at({nq, nb});
  dnnl::memory q_mem(pd.src_desc(), state_->engine, const_cast<std::uint16_t*>(q));
  dnnl::memory b_mem(pd.weights_desc(), state_->engine, const_cast<std::uint16_t*>(b));
  dnnl::memory c_mem(pd.dst_desc(), state_->engine, out);
  mm.execute(state_->stream, {{DNNL_ARG_SRC, q_mem}, {DNNL_ARG_WEIGHTS, b_mem}, {DNNL_ARG_DST, c_mem}});
  state_->stream.wait();
}

std::string Bf16ScoreGemm::implementation() const { return state_->implementation; }

bool Bf16ScoreGemm::native() const {
  const std::string& impl = state_->implementation;
  return impl.find("amx") != std::string::npos || impl.find("avx512_core_bf16") != std::string::npos;
}

}  // namespace recap::retrieval
