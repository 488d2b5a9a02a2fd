// recap-synth: writes a synthetic paired-embedding dataset with a known answer (see
// recap/data/synthetic.h) for the demo, end-to-end tests and benchmarks.
#include <cstdio>
#include <filesystem>
#include <optional>

#include "cli_support.h"
#include "recap/common/checked_size.h"
#include "recap/common/error.h"
#include "recap/data/synthetic.h"
#include "recap/io/atomic_file.h"
#include "recap/io/json_file.h"
#include "recap/io/npy.h"

using namespace recap;

namespace fs = std::filesystem;

namespace {

// Writes each stream to its file as the generator produces it.
class FileSink : public data::SyntheticSink {
 public:
  FileSink(const std::filesystem::path& dir, const data::SyntheticSpec& spec, bool with_texts)
      : dir_(dir), spec_(spec), with_texts_(with_texts),
        images_(dir / "image_embeddings.npy", spec.images, spec.dim),
        captions_(dir / "text_embeddings.npy", spec.images * spec.captions_per_image, spec.dim) {
    if (with_texts_) caption_file_.emplace(dir / "captions.jsonl");
  }

  void images(const io::FloatMatrix& rows, const std::vector<std::int64_t>&) override {
    images_.append(rows.data(), rows.rows);
  }

  void captions(const io::FloatMatrix& rows, const std::vector<std::int64_t>& concepts,
                const std::vector<std::int64_t>& image_rows) override {
    captions_.append(rows.data(), rows.rows);
    for (std::size_t i = 0; i < concepts.size(); ++i) {
      const std::int64_t variant = static_cast<std::int64_t>(i) % std::max<std::int64_t>(1, spec_.captions_per_image);
      pairs_.push_back(image_rows[i]);
      pairs_.push_back(caption_rows_++);
      if (caption_file_) {
        const nlohmann::json record = {{"caption", data::concept_caption(concepts[i], variant)},
                                       {"image_row", image_rows[i]},
                                       {"concept", concepts[i]}};
        caption_file_->write(record.dump() + "\n");
      }
    }
  }

  void queries(const io::FloatMatrix& rows, const std::vector<std::int64_t>& concepts) override {
    io::write_npy(dir_ / "queries.npy", rows);
    nlohmann::json ids = nlohmann::json::array(), annotations = nlohmann::json::array(),
                   images = nlohmann::json::array();
    for (std::size_t q = 0; q < concepts.size(); ++q) {
      const auto id = static_cast<std::int64_t>(q);
      ids.push_back(id);
      images.push_back({{"id", id}, {"concept", concepts[q]}});
      for (std::int64_t v = 0; v < 5; ++v)
        annotations.push_back({{"image_id", id}, {"id", id * 5 + v}, {"caption", data::concept_caption(concepts[q], v)}});
    }
    io::write_json(dir_ / "query_ids.json", ids, -1);
    io::write_json(dir_ / "query_refs.json", {{"images", images}, {"annotations", annotations}}, -1);
  }

  void commit() {
    images_.commit();
    captions_.commit();
    io::write_npy(dir_ / "pairs.npy", pairs_.data(), {caption_rows_, 2});
    if (caption_file_) caption_file_->commit();
  }

 private:
  std::filesystem::path dir_;
  data::SyntheticSpec spec_;
  bool with_texts_;
  io::NpyStreamWriter images_, captions_;
  std::optional<io::AtomicFile> caption_file_;
  std::vector<std::int64_t> pairs_;
  std::int64_t caption_rows_ = 0;
};

// The embeddings alone take rows x dim x 4 bytes: refuse before writing a set the disk
// cannot hold (or whose size does not even fit in 64 bits).
void check_disk_space(const data::SyntheticSpec& spec, const std::string& out_dir) {
  std::int64_t rows = 0;
  const bool counted = !__builtin_mul_overflow(spec.images, spec.captions_per_image, &rows) &&
                       !__builtin_add_overflow(rows, spec.images, &rows) &&
                       !__builtin_add_overflow(rows, spec.queries, &rows);
  const auto bytes = counted ? checked_byte_size({rows, spec.dim}, sizeof(float)) : std::nullopt;
  std::error_code ec;
  const auto parent = fs::absolute(out_dir).parent_path();
  const auto space = fs::space(parent, ec);
  if (!bytes) throw UsageError(out_dir + ": a set this large does not fit in 64 bits of bytes");
  if (!ec && *bytes > space.available)
    throw UsageError(out_dir + ": the set needs " + std::to_string(*bytes >> 20) + " MiB of embeddings but " +
                     parent.string() + " has " + std::to_string(space.available >> 20) + " MiB free");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Write a synthetic paired-embedding dataset with a known answer: caption embeddings normalize(z_c + noise),\n"
      "image embeddings normalize((z_c + noise) R) for a random orthogonal R, captions from a small grammar.\n"
      "Files: image_embeddings.npy, text_embeddings.npy, pairs.npy, captions.jsonl, queries.npy,\n"
      "query_ids.json, query_refs.json (COCO annotations: 5 wordings of each query's concept).",
      "recap-synth"};
  cli::CommonOptions common;
  data::SyntheticSpec spec;
  std::string out_dir;
  bool force = false, no_texts = false;
  app.add_option("--images", spec.images, "Training images")->check(cli::kPositive)->capture_default_str();
  app.add_option("--captions-per-image", spec.captions_per_image, "Captions per training image")
      ->check(cli::kPositive)->capture_default_str();
  app.add_option("--queries", spec.queries, "Held-out query images")->check(cli::kNonNegative)->capture_default_str();
  app.add_option("--dim", spec.dim, "Embedding dimension")->check(cli::kPositive)->capture_default_str();
  app.add_option("--concepts", spec.concepts, "Distinct concepts (caption contents)")
      ->check(CLI::Range(std::int64_t{1}, data::concept_count_limit()))->capture_default_str();
  app.add_option("--image-noise", spec.image_noise, "Noise added to an image's latent")->capture_default_str();
  app.add_option("--text-noise", spec.text_noise, "Noise added to a caption's latent")->capture_default_str();
  app.add_option("--seed", spec.seed, "Random seed")->capture_default_str();
  app.add_flag("--no-texts", no_texts, "Skip captions.jsonl (embeddings only, for benchmarks)");
  app.add_option("--out", out_dir, "Directory to create")->required();
  app.add_flag("--force", force, "Replace an existing directory");
  cli::add_common_options(app, common);

  return cli::run(app, argc, argv, [&] {
    check_disk_space(spec, out_dir);
    io::StagingDirectory staging(out_dir, force);
    FileSink sink(staging.path(), spec, !no_texts);
    data::generate_synthetic(spec, sink);
    sink.commit();
    staging.commit();
    std::printf("wrote %s: %lld images x %lld captions, %lld queries, d = %lld\n", out_dir.c_str(),
                static_cast<long long>(spec.images), static_cast<long long>(spec.captions_per_image),
                static_cast<long long>(spec.queries), static_cast<long long>(spec.dim));
  });
}
