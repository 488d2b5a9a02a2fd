// bench_index: the FAISS index benchmark's C++ side (scripts/bench_index.sh runs it; not a
// test). Three jobs, one process each so that /usr/bin/time sees each one's peak memory:
//   bench_index generate --rows N --dim D --out DIR   a synthetic float16 datastore, written in chunks
//   bench_index exact --store DIR --queries N          exact search: ground truth and its speed
//   bench_index index --store DIR --factory F          build, save, search through recap's index path
// Each prints one JSON line of figures.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "recap/common/compute.h"
#include "recap/common/rows.h"
#include "recap/common/stopwatch.h"
#include "recap/io/dtype.h"
#include "recap/io/npy.h"
#include "recap/retrieval/datastore.h"
#include "recap/retrieval/index_build.h"

using namespace recap;
namespace fs = std::filesystem;

namespace {

std::string arg(int argc, char** argv, const std::string& name, const std::string& fallback = "") {
  for (int i = 2; i + 1 < argc; ++i)
    if (argv[i] == "--" + name) return argv[i + 1];
  if (fallback.empty()) throw std::runtime_error("bench_index: --" + name + " is required");
  return fallback;
}

std::uint16_t to_half(float v) {  // round to nearest even; the values here are normal and |v| < 1
  std::uint32_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  const std::uint32_t sign = (bits >> 16) & 0x8000u;
  const int exponent = static_cast<int>((bits >> 23) & 0xffu) - 127 + 15;
  if (exponent <= 0) return static_cast<std::uint16_t>(sign);  // below float16's normal range: 0
  std::uint32_t mantissa = bits & 0x7fffffu;
  std::uint32_t half = sign | (static_cast<std::uint32_t>(exponent) << 10) | (mantissa >> 13);
  const std::uint32_t rest = mantissa & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (half & 1u))) ++half;
  return static_cast<std::uint16_t>(half);
}

// N unit rows around 4,096 topic centres (cosine ~0.7 to their centre), as caption
// embeddings cluster by topic; float16, as a large datastore would be stored.
void write_synthetic_store(std::int64_t rows, std::int64_t dim, const fs::path& out) {
  fs::create_directories(out);
  std::mt19937_64 rng(1);
  std::normal_distribution<float> gauss;
  const std::int64_t topics = 4096;
  std::vector<float> centres(static_cast<std::size_t>(topics * dim));
  for (auto& v : centres) v = gauss(rng);
  for (std::int64_t t = 0; t < topics; ++t) normalize_rows(centres.data() + t * dim, 1, dim);
  std::ofstream npy(out / "embeddings.npy", std::ios::binary);
  npy << io::make_npy_header(io::DType::f16, {rows, dim});
  std::ofstream captions(out / "captions.jsonl");
  std::vector<float> row(static_cast<std::size_t>(dim));
  std::vector<std::uint16_t> half(static_cast<std::size_t>(dim));
  const float spread = 1.0f / std::sqrt(static_cast<float>(dim));
  for (std::int64_t i = 0; i < rows; ++i) {
    const float* centre = centres.data() + static_cast<std::int64_t>(rng() % topics) * dim;
    for (std::int64_t c = 0; c < dim; ++c) row[c] = centre[c] + spread * gauss(rng);
    normalize_rows(row.data(), 1, dim);
    for (std::int64_t c = 0; c < dim; ++c) half[c] = to_half(row[c]);
    npy.write(reinterpret_cast<const char*>(half.data()), static_cast<std::streamsize>(dim * 2));
    captions << "{\"caption\":\"c" << i << "\"}\n";
  }
  std::printf("%s\n", nlohmann::json({{"job", "generate"}, {"rows", rows}, {"dim", dim}}).dump().c_str());
}

// Queries per second of `search` over `n` queries, `batch` at a time.
template <typename Search>
double rate(const io::FloatMatrix& queries, std::int64_t n, std::int64_t batch, Search&& search) {
  Stopwatch clock;
  for (std::int64_t first = 0; first < n; first += batch) search(queries.row(first), std::min(batch, n - first));
  return static_cast<double>(n) / clock.seconds();
}

}  // namespace

int main(int argc, char** argv) {
  try {
    init_compute(argv, 0);
    const std::string job = argc > 1 ? argv[1] : "";
    if (job == "generate") {
      write_synthetic_store(std::stoll(arg(argc, argv, "rows")), std::stoll(arg(argc, argv, "dim", "512")), arg(argc, argv, "out"));
      return 0;
    }
    const fs::path dir = arg(argc, argv, "store");
    auto store = retrieval::Datastore::open(dir);
    const std::int64_t k = 8, nq = std::stoll(arg(argc, argv, "queries", "1000"));
    const std::int64_t single = std::stoll(arg(argc, argv, "single", "200"));
    const auto queries = retrieval::perturbed_queries(store, nq, 7);
    io::write_npy(dir / "queries.npy", queries);
    nlohmann::json out = {{"job", job}, {"rows", store.size()}, {"dim", store.dim()}, {"queries", nq}};
    if (job == "exact") {
      retrieval::SearchOptions exact;
      Stopwatch clock;
      const auto truth = store.search(queries.data(), nq, k, exact);
      out["seconds_1024"] = clock.seconds();
      out["qps_1024"] = static_cast<double>(nq) / out["seconds_1024"].get<double>();
      io::write_npy(dir / "exact_ids.npy", truth.ids.data(), {nq, k});
      // One query at a time rescans the whole datastore: a few are enough.
      out["qps_1"] = rate(queries, std::min<std::int64_t>(nq, 10), 1,
                          [&](const float* q, std::int64_t n) { store.search(q, n, k, exact); });
      out["kernel"] = truth.kernel;
    } else if (job == "index") {
      retrieval::IndexBuildOptions options;
      options.factory = arg(argc, argv, "factory");
      options.nprobe = std::stoll(arg(argc, argv, "nprobe", "0"));
      options.ef_search = std::stoll(arg(argc, argv, "ef-search", "0"));
      Stopwatch clock;
      auto built = retrieval::build_index(store, options);
      out["build_seconds"] = clock.seconds();
      out["train_seconds"] = built.train_seconds;
      out["add_seconds"] = built.add_seconds;
      out["train_rows"] = built.train_rows;
      const fs::path file = arg(argc, argv, "index-out");
      built.index.save(file);
      out["index_bytes"] = static_cast<std::int64_t>(fs::file_size(file));
      out["description"] = built.index.describe();
      out["nprobe"] = built.index.search_defaults().nprobe;
      out["ef_search"] = built.index.search_defaults().ef_search;
      store.attach_index(std::make_shared<const retrieval::FaissIndex>(std::move(built.index)), file.string(), nullptr);
      auto search = [&](const float* q, std::int64_t n) { store.search(q, n, k); };
      out["qps_1024"] = rate(queries, nq, 1024, search);
      out["qps_1"] = rate(queries, std::min(nq, single), 1, search);
      const auto found = store.search(queries.data(), nq, k);
      const auto truth = io::read_npy_int64(dir / "exact_ids.npy");
      double first = 0, overlap = 0;
      for (std::int64_t q = 0; q < nq; ++q) {
        const std::set<std::int64_t> exact_set(truth.begin() + q * k, truth.begin() + (q + 1) * k);
        first += found.ids_of(q)[0] == truth[static_cast<std::size_t>(q * k)];
        for (std::int64_t j = 0; j < k; ++j) overlap += exact_set.count(found.ids_of(q)[j]);
      }
      out["recall_1"] = first / static_cast<double>(nq);
      out["recall_8"] = overlap / static_cast<double>(nq * k);
    } else {
      throw std::runtime_error("bench_index: first argument: generate, exact or index");
    }
    std::printf("%s\n", out.dump().c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_index: error: %s\n", e.what());
    return 1;
  }
}
