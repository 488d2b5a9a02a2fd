// recap-index: builds a FAISS index over a run's datastore (RUN/index/), measures its
// recall against exact search, and records it in run.json. recap-caption and recap-dal then
// search through it. The flow is run/run_index.h; this tool parses flags and prints.
#include <optional>

#include "cli_support.h"
#include "index_report.h"
#include "recap/common/error.h"
#include "recap/common/progress.h"
#include "recap/run/run_index.h"

namespace fs = std::filesystem;
using namespace recap;

int main(int argc, char** argv) {
  CLI::App app{
      "Build a FAISS index over a run's datastore (RUN/index/index.faiss and index.json), so that recap-caption and\n"
      "recap-dal search it instead of every caption. The factory string chooses the index: \"IVF4096,Flat\",\n"
      "\"IVF4096,PQ64\", \"HNSW32\", ... (inner product, i.e. cosine on the normalised rows). Recall@1 and recall@k\n"
      "against exact search are measured on held-out queries and recorded in index.json and run.json.",
      "recap-index"};
  cli::CommonOptions common;
  fs::path run_dir;
  run::RunIndexOptions options;
  app.add_option("--run", run_dir, "Run directory written by recap-fit, with a datastore")->required()->check(CLI::ExistingDirectory);
  app.add_option("--index", options.build.factory, "FAISS factory string, e.g. \"IVF4096,PQ64\", \"IVF1024,Flat\", \"HNSW32\"")
      ->required();
  app.add_option("--nprobe", options.build.nprobe, "IVF: cells visited per query, stored as the index's default "
                                                   "(default: max(8, nlist/64))")->check(cli::kPositive);
  app.add_option("--ef-search", options.build.ef_search, "HNSW: the search's candidate list, stored as the index's "
                                                         "default (default: 64)")->check(cli::kPositive);
  app.add_option("--train-rows", options.build.train_rows, "Rows the quantisers train on, evenly spaced over the "
                                                           "datastore (default: 64 per IVF cell, at least 65,536)")
      ->check(cli::kPositive);
  app.add_option("--queries", options.queries,
                 "Image embeddings (.npy) to measure recall with, mapped with the run's W (default: the image "
                 "embeddings run.json names, when still there; otherwise datastore rows moved to cosine 0.5)")
      ->check(CLI::ExistingFile);
  app.add_option("--recall-queries", options.recall_queries, "Queries recall is measured on")
      ->check(cli::kPositive)->capture_default_str();
  app.add_option("--recall-k", options.recall_k, "k of recall@k")->check(cli::kPositive)->capture_default_str();
  app.add_option("--seed", options.seed, "Seed of the perturbed-row queries")->capture_default_str();
  app.add_flag("--force", options.force, "Replace the run's index (only once the new one is complete)");
  cli::add_common_options(app, common);

  return cli::run(app, argc, argv, [&] {
    const auto run = run::Run::open(run_dir);
    options.build.threads = common.threads;
    std::optional<Progress> progress;
    options.build.progress = [&](const std::string& stage, std::int64_t done, std::int64_t total) {
      if (stage != "adding rows") {
        if (common.verbose) cli::note(stage);
        return;
      }
      if (!progress) progress.emplace("adding rows to the index", total, "rows");
      progress->update(done);
      if (done == total) progress->finish();
    };
    const auto result = run::build_run_index(run, options);
    cli::print_index(run_dir, result);
  });
}
