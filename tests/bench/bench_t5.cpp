// T5 decoding speed: decoder tokens per second (every row of the decoder batch, i.e. inputs
// x beams, per generated position) for greedy and beam-4 at batch 1 and 16, with and
// without the key/value cache, on the tiny golden architecture and a FLAN-T5-base-shaped
// model with random weights (generation runs the full max_new_tokens: random weights
// rarely emit </s>, and min_new_tokens forbids it). Not a test; run by hand:
//   build/tests/bench/bench_t5 --benchmark_min_time=0.1
// --benchmark_filter=tiny skips the base-sized model.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <string>

#include "recap/common/compute.h"
#include "recap/models/t5_model.h"

using namespace recap;

namespace {

const char* kTiny = R"({"model_type": "t5", "vocab_size": 600, "d_model": 64, "d_kv": 16, "d_ff": 128, "num_heads": 4,
  "num_layers": 2, "num_decoder_layers": 2, "feed_forward_proj": "gated-gelu", "tie_word_embeddings": true,
  "scale_decoder_outputs": false})";
// google/flan-t5-base's config.json sizes (248M parameters).
const char* kBase = R"({"model_type": "t5", "vocab_size": 32128, "d_model": 768, "d_kv": 64, "d_ff": 2048, "num_heads": 12,
  "num_layers": 12, "num_decoder_layers": 12, "feed_forward_proj": "gated-gelu", "tie_word_embeddings": false})";

const models::T5Model& model(const std::string& name) {
  static std::map<std::string, std::unique_ptr<models::T5Model>> cache;
  auto& slot = cache[name];
  if (!slot) {
    models::T5LoadOptions o;
    o.threads = std::getenv("RECAP_BENCH_THREADS") ? std::atoi(std::getenv("RECAP_BENCH_THREADS")) : 0;
    // RECAP_BENCH_DTYPE=bfloat16 measures recap-lm --dtype bfloat16 (default float32).
    if (const char* dtype = std::getenv("RECAP_BENCH_DTYPE")) o.precision = models::parse_precision(dtype);
    // RECAP_BENCH_DEVICE=cuda measures recap-lm --device cuda (default cpu).
    if (const char* device = std::getenv("RECAP_BENCH_DEVICE")) o.device = models::parse_device(device);
    slot = std::make_unique<models::T5Model>(models::T5Model::random(name == "tiny" ? kTiny : kBase, 1, o));
  }
  return *slot;
}

// args: batch, beams (1 = greedy), cache (0/1); the model is the benchmark's name suffix.
void run(benchmark::State& state, const std::string& name) {
  const auto& lm = model(name);
  const auto batch = state.range(0), beams = state.range(1);
  const bool cache = state.range(2) != 0;
  const int new_tokens = 16, input_tokens = 64;  // a ReCap prompt with k = 4..8 captions is ~60-120 tokens
  models::IdRows ids(batch, input_tokens);
  for (std::size_t i = 0; i < ids.values.size(); ++i) ids.values[i] = 3 + static_cast<std::int64_t>(i * 7919 % 500);
  models::GenerationOptions o;
  o.max_new_tokens = new_tokens;
  o.min_new_tokens = new_tokens;
  o.use_cache = cache;
  if (beams > 1) {
    o.decoding = models::Decoding::beam;
    o.num_beams = static_cast<int>(beams);
  }
  for (auto _ : state) benchmark::DoNotOptimize(lm.generate(ids, nullptr, o));
  state.counters["decoder_tokens/s"] =
      benchmark::Counter(static_cast<double>(batch * beams * new_tokens), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["sequences/s"] =
      benchmark::Counter(static_cast<double>(batch * beams), benchmark::Counter::kIsIterationInvariantRate);
}

void args(benchmark::internal::Benchmark* b) {
  for (int batch : {1, 16})
    for (int beams : {1, 4})
      for (int cache : {1, 0}) b->Args({batch, beams, cache});
  b->ArgNames({"batch", "beams", "kv_cache"})->Unit(benchmark::kMillisecond)->UseRealTime();
}

}  // namespace

BENCHMARK_CAPTURE(run, tiny, std::string("tiny"))->Apply(args);
BENCHMARK_CAPTURE(run, flan_t5_base_shape, std::string("base"))->Apply(args);

int main(int argc, char** argv) {
  init_compute(argv, 0);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
}
