#include "recap/retrieval/index_build.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <regex>
#include <set>

#include "recap/common/error.h"
#include "recap/common/rows.h"
#include "recap/common/seed_mix.h"
#include "recap/common/stopwatch.h"

namespace recap::retrieval {
namespace {

// The IVF cell count a factory string asks for ("IVF4096,PQ64" -> 4096), to size the
// training sample before FAISS has built anything; 0 when it names no IVF.
std::int64_t factory_nlist(const std::string& factory) {
  static const std::regex ivf(R"(IVF(\d+))");
  std::smatch m;
  return std::regex_search(factory, m, ivf) ? std::stoll(m.str(1)) : 0;
}

}  // namespace

BuiltIndex build_index(const Datastore& store, const IndexBuildOptions& options) {
  const std::int64_t rows = store.base_size(), dim = store.dim();
  std::int64_t train_rows = options.train_rows;
  if (train_rows <= 0) train_rows = std::max<std::int64_t>(65536, 64 * factory_nlist(options.factory));
  train_rows = std::min(train_rows, rows);

  // An evenly spaced sample: deterministic, and it sees every part of a datastore that was
  // written in some order (by source, by shard).
  io::FloatMatrix train(train_rows, dim);
  for (std::int64_t i = 0; i < train_rows; ++i) {
    const auto row = static_cast<std::int64_t>(static_cast<double>(i) * static_cast<double>(rows) /
                                               static_cast<double>(train_rows));
    store.read_rows(row, 1, train.row(i));
  }

  BuiltIndex built{FaissIndex::create(options.factory, dim)};
  if (options.nprobe > 0 && !built.index.is_ivf())
    throw UsageError("--nprobe applies to IVF indexes; '" + options.factory + "' makes " + built.index.describe());
  if (options.ef_search > 0 && !built.index.is_hnsw())
    throw UsageError("--ef-search applies to HNSW indexes; '" + options.factory + "' makes " + built.index.describe());
  Stopwatch clock;
  if (options.progress) options.progress("training on " + std::to_string(train_rows) + " rows", 0, 1);
  built.index.train(train.data(), train_rows, options.threads);
  built.train_rows = train_rows;
  built.train_seconds = clock.seconds();
  train = {};
  clock.restart();
  built.index.add(
      rows, [&store](std::int64_t first, std::int64_t count, float* out) { store.read_rows(first, count, out); },
      options.threads, [&](std::int64_t done, std::int64_t total) {
        if (options.progress) options.progress("adding rows", done, total);
      });
  built.add_seconds = clock.seconds();

  IndexSearchParams defaults;
  if (built.index.is_ivf()) {
    const std::int64_t nlist = built.index.nlist();
    defaults.nprobe = options.nprobe > 0 ? options.nprobe : std::min(nlist, std::max<std::int64_t>(8, nlist / 64));
  }
  if (built.index.is_hnsw()) defaults.ef_search = options.ef_search > 0 ? options.ef_search : 64;
  built.index.set_search_defaults(defaults);
  return built;
}

RecallReport measure_recall(const Datastore& store, const io::FloatMatrix& queries, std::int64_t k, int threads,
                            const std::string& query_source) {
  if (!store.has_index()) throw Error(ExitCode::internal, "measure_recall: no index attached");
  RecallReport report;
  report.queries = queries.rows;
  report.k = std::min(k, store.size());
  report.query_source = query_source;
  if (queries.rows == 0) return report;
  SearchOptions approximate;
  approximate.threads = threads;
  SearchOptions exact = approximate;
  exact.exact = true;
  Stopwatch clock;
  const TopK found = store.search(queries.data(), queries.rows, report.k, approximate);
  report.index_seconds = clock.seconds();
  clock.restart();
  const TopK truth = store.search(queries.data(), queries.rows, report.k, exact);
  report.exact_seconds = clock.seconds();

  double first = 0, overlap = 0;
  for (std::int64_t q = 0; q < queries.rows; ++q) {
    const std::int64_t* f = found.ids_of(q);
    const std::int64_t* t = truth.ids_of(q);
    first += f[0] == t[0];
    const std::set<std::int64_t> exact_set(t, t + report.k);
    for (std::int64_t j = 0; j < report.k; ++j) overlap += exact_set.count(f[j]);
  }
  report.at_1 = first / static_cast<double>(queries.rows);
  report.at_k = overlap / static_cast<double>(queries.rows * report.k);
  return report;
}

io::FloatMatrix perturbed_queries(const Datastore& store, std::int64_t n, std::uint64_t seed) {
  const std::int64_t dim = store.dim();
  n = std::min(n, store.base_size());
  io::FloatMatrix queries(n, dim);
  std::mt19937_64 rng(mix_seed(seed, 0));
  std::uniform_int_distribution<std::int64_t> pick(0, store.base_size() - 1);
  std::normal_distribution<double> gauss;
  std::vector<double> noise(static_cast<std::size_t>(dim));
  for (std::int64_t i = 0; i < n; ++i) {
    float* q = queries.row(i);
    store.read_rows(pick(rng), 1, q);
    normalize_rows(q, 1, dim);
    // A direction orthogonal to the row, of length sqrt(3): cos(q, row) = 1 / sqrt(1 + 3).
    double along = 0, norm = 0;
    for (auto& v : noise) v = gauss(rng);
    for (std::int64_t c = 0; c < dim; ++c) along += noise[c] * q[c];
    for (std::int64_t c = 0; c < dim; ++c) {
      noise[c] -= along * q[c];
      norm += noise[c] * noise[c];
    }
    const double scale = std::sqrt(3.0) / std::max(std::sqrt(norm), 1e-30);
    for (std::int64_t c = 0; c < dim; ++c) q[c] = static_cast<float>(q[c] + scale * noise[c]);
    normalize_rows(q, 1, dim);
  }
  return queries;
}

}  // namespace recap::retrieval
