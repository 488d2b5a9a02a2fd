// CLIP preprocessing alone (decode + PIL-exact bicubic resize + crop + normalise) over the
// images of RECAP_BENCH_IMAGES, on one thread and split across two (as recap-embed's
// decoding workers run), for comparison with PIL (scripts/bench/clip_reference.py preprocess).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <vector>

#include "recap/common/parallel.h"
#include "recap/vision/image.h"
#include "recap/vision/preprocess.h"

namespace {

std::vector<std::filesystem::path> images() {
  std::vector<std::filesystem::path> files;
  const char* dir = std::getenv("RECAP_BENCH_IMAGES");
  if (dir == nullptr) return files;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (recap::vision::has_image_extension(e.path())) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

void BM_Preprocess(benchmark::State& state) {
  const auto files = images();
  const auto config = recap::vision::PreprocessConfig::openai(224);
  std::vector<float> out(3 * 224 * 224);
  for (auto _ : state)
    for (const auto& f : files) recap::vision::preprocess_file(f, config, out.data());
  state.counters["images_per_s"] =
      benchmark::Counter(static_cast<double>(files.size()), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_Preprocess)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);

void BM_PreprocessTwoThreads(benchmark::State& state) {
  const auto files = images();
  const auto config = recap::vision::PreprocessConfig::openai(224);
  std::vector<float> out(files.size() * 3 * 224 * 224);
  for (auto _ : state) {
    recap::parallel_ranges(static_cast<std::int64_t>(files.size()), 2, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t i = begin; i < end; ++i)
        recap::vision::preprocess_file(files[static_cast<std::size_t>(i)], config, out.data() + i * 3 * 224 * 224);
    });
  }
  state.counters["images_per_s"] =
      benchmark::Counter(static_cast<double>(files.size()), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_PreprocessTwoThreads)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);

}  // namespace

BENCHMARK_MAIN();
