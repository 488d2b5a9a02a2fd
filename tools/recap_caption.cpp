// recap-caption: caption images with a fitted run. Without --lm, retrieval only: the
// datastore caption closest to the mapped image embedding. With --lm, ReCap's full path:
// retrieve k captions, prompt the language model with them, generate candidates, keep the
// one whose CLIP text embedding is closest to the mapped image embedding.
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <optional>

#include "cli_support.h"
#include "lm_options.h"
#include "progress.h"
#include "recap/align/linear_map.h"
#include "recap/caption/gallery.h"
#include "recap/caption/lm_captioner.h"
#include "recap/caption/retrieval_captioner.h"
#include "recap/common/error.h"
#include "recap/common/rows.h"
#include "recap/data/media_index.h"
#include "recap/io/atomic_file.h"
#include "recap/io/json_file.h"
#include "recap/io/npy.h"
#include "recap/io/output_rule.h"
#include "recap/io/provenance.h"
#include "recap/models/embed_pipeline.h"
#include "recap/vision/thumbnail.h"
#include "recap/vision/image.h"

namespace fs = std::filesystem;
using namespace recap;

namespace {

// Whether the run's W was fitted on normalised rows (then queries are normalised too).
bool run_normalizes(const fs::path& run) {
  const auto path = run / "mapping.json";
  if (!fs::exists(path)) return true;
  return io::read_json(path).value("normalize", true);
}

// The keys (dotted, e.g. "content.mapping") whose values differ between two settings.
void differences(const nlohmann::json& before, const nlohmann::json& now, const std::string& prefix,
                 std::vector<std::string>& out) {
  if (!before.is_object() || !now.is_object()) {
    out.push_back(prefix.empty() ? "everything" : prefix);
    return;
  }
  for (auto it = now.begin(); it != now.end(); ++it) {
    const std::string key = prefix.empty() ? it.key() : prefix + "." + it.key();
    if (!before.contains(it.key())) out.push_back(key);
    else if (before[it.key()] != it.value()) {
      if (it.value().is_object()) differences(before[it.key()], it.value(), key, out);
      else out.push_back(key);
    }
  }
}

std::string describe_differences(const nlohmann::json& before, const nlohmann::json& now) {
  std::vector<std::string> keys;
  differences(before, now, "", keys);
  std::string text;
  for (const auto& k : keys) text += (text.empty() ? "" : ", ") + k;
  return text + (keys.size() == 1 ? " differs" : " differ");
}

// The partial results of an interrupted run: one JSON line of settings, then one line
// per captioned image, fsync'ed after every batch. A later run with the same settings
// skips those images; the final outputs are written from it and it is removed.
class ResumeLog {
 public:
  ResumeLog(fs::path path, const nlohmann::json& settings, bool force) : path_(std::move(path)) {
    if (force) fs::remove(path_);
    if (fs::exists(path_)) {
      std::ifstream in(path_);
      std::string line;
      bool first = true;
      while (std::getline(in, line)) {
        nlohmann::json j;
        try {
          j = nlohmann::json::parse(line);
        } catch (const nlohmann::json::exception&) {
          continue;  // a line cut by a crash
        }
        if (first) {
          if (!j.contains("settings") || j["settings"] != settings) {
            throw UsageError(path_.string() + ": partial results of a run with other settings (" +
                             describe_differences(j.contains("settings") ? j["settings"] : nlohmann::json(), settings) +
                             "); pass --force to start over or rerun with the same options and inputs");
          }
          first = false;
          continue;
        }
        if (j.is_object() && j.contains("image_id")) done_[j["image_id"].dump()] = j;
      }
      if (first) fs::remove(path_);  // not even the settings line survived
    }
    const bool fresh = !fs::exists(path_);
    file_ = std::fopen(path_.c_str(), "a");
    if (file_ == nullptr) throw UsageError(path_.string() + ": cannot write the resume log");
    if (fresh) append({{"settings", settings}});
    else sync_truncate_tail();
  }
  ~ResumeLog() {
    if (file_) std::fclose(file_);
  }
  std::size_t resumed() const { return done_.size(); }
  const nlohmann::json* find(const nlohmann::json& id) const {
    auto it = done_.find(id.dump());
    return it == done_.end() ? nullptr : &it->second;
  }
  void append(const nlohmann::json& record) {
    const std::string line = record.dump() + "\n";
    if (std::fwrite(line.data(), 1, line.size(), file_) != line.size()) throw Error(ExitCode::internal, path_.string() + ": write failed");
  }
  void add(const nlohmann::json& record) {
    append(record);
    done_[record["image_id"].dump()] = record;
  }
  void sync() {
    std::fflush(file_);
    ::fsync(fileno(file_));
  }
  void finish() {
    std::fclose(file_);
    file_ = nullptr;
    fs::remove(path_);
  }

 private:
  // A crash can leave half a line at the end; start the next record on a line of its own.
  void sync_truncate_tail() {
    std::ifstream in(path_, std::ios::binary | std::ios::ate);
    if (in.tellg() > 0) {
      in.seekg(-1, std::ios::end);
      if (in.get() != '\n') std::fputc('\n', file_);
    }
  }
  fs::path path_;
  std::FILE* file_ = nullptr;
  std::map<std::string, nlohmann::json> done_;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Caption images with a run from recap-fit. The image embedding x is mapped to aligned = normalize(normalize(x) @ W)\n"
      "and the k datastore captions closest to it are retrieved. Without --lm the closest one is the caption\n"
      "(retrieval only). With --lm (a T5 / FLAN-T5 folder) and --clip, the retrieved captions fill a prompt, the\n"
      "model generates candidates (beams and/or samples), duplicates are removed, and the candidate whose CLIP text\n"
      "embedding has the highest cosine with the aligned embedding is the caption. Writes COCO results\n"
      "[{\"image_id\", \"caption\"}].",
      "recap-caption"};
  // A flag given twice takes its last value, so scripts can append overrides.
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  cli::CommonOptions common;
  cli::LmFlags flags;
  flags.max_new_tokens = 30;
  flags.top_p = 0.9;
  fs::path run_dir, embeddings_path, images_path, clip_path, lm_path, ids_path, out_path, details_path, html_path,
      datastore_dir, cache_dir;
  std::int64_t k = 8, max_input_tokens = 512;
  bool force = false, no_cache = false;
  std::string search_kernel = "auto", device = "cpu", dtype = "float32", sampling = "nucleus";
  caption::LmCaptionOptions lm_options;
  lm_options.candidate_beams = 4;
  lm_options.candidate_samples = 36;
  int batch_size = 16, thumbnail_size = 192, stop_after_batches = 0;

  app.add_option("--run", run_dir, "Run directory written by recap-fit")->required()->check(CLI::ExistingDirectory);
  auto* inputs = app.add_option_group("input", "exactly one input");
  inputs->add_option("--image-embeddings", embeddings_path, "Query image embeddings (.npy, n x d_img)")
      ->check(CLI::ExistingFile);
  inputs->add_option("--images", images_path, "Image folder (recursive, sorted) or a list file of paths (needs --clip)");
  inputs->require_option(1);
  app.add_option("--clip", clip_path, "CLIP model (the one the run was fitted with): embeds --images and the candidates");
  app.add_option("--lm", lm_path, "T5 / FLAN-T5 folder: caption with the language model instead of retrieval only");
  app.add_option("--ids", ids_path, "JSON array of the image ids (default: row numbers, or numbers/paths from file names)")
      ->check(CLI::ExistingFile);
  app.add_option("--k", k, "Captions retrieved per image (and put in the prompt)")->check(cli::kPositive)->capture_default_str();
  app.add_option("--prompt-template", lm_options.prompt_template, "Prompt; {captions} is replaced by the retrieved captions")
      ->capture_default_str();
  app.add_option("--separator", lm_options.separator, "Text between retrieved captions in the prompt")->capture_default_str();
  app.add_option("--candidate-beams", lm_options.candidate_beams, "Candidates from beam search (beam width = this; 0: none)")
      ->check(cli::kNonNegative)->capture_default_str();
  app.add_option("--candidate-samples", lm_options.candidate_samples, "Candidates from sampling (0: none)")
      ->check(cli::kNonNegative)->capture_default_str();
  app.add_option("--sampling", sampling, "How candidates are sampled: sample, topk or nucleus")
      ->check(CLI::IsMember({"sample", "topk", "nucleus"}))->capture_default_str();
  cli::add_generation_options(app, flags, /*with_beams_and_decoding=*/false);
  app.add_option("--max-input-tokens", max_input_tokens, "Prompts are truncated to this many tokens")
      ->check(cli::kPositive)->capture_default_str();
  app.add_option("--batch-size", batch_size, "Images per batch (results are saved after every batch)")
      ->check(cli::kPositive)->capture_default_str();
  app.add_option("--datastore", datastore_dir, "Datastore directory (default: RUN/datastore)")->check(CLI::ExistingDirectory);
  app.add_option("--out", out_path, "Results JSON (COCO results format)")->required();
  app.add_option("--details", details_path, "JSONL per image: retrieved captions and similarities, prompt, every candidate "
                                            "with its score, the chosen one");
  app.add_option("--html", html_path, "Self-contained HTML gallery (thumbnails embedded, sortable by score)");
  app.add_option("--thumbnail-size", thumbnail_size, "Longer side of gallery thumbnails in pixels")
      ->check(cli::kPositive)->capture_default_str();
  app.add_option("--search-kernel", search_kernel,
                 "Exact search kernel: auto (bf16 screening where the CPU has AMX/AVX-512 BF16, else fp32), fp32, bf16; "
                 "all return the same captions")
      ->check(CLI::IsMember({"auto", "fp32", "bf16"}))->capture_default_str();
  app.add_option("--device", device, "cpu or cuda (CLIP and the language model)")->check(CLI::IsMember({"cpu", "cuda"}))
      ->capture_default_str();
  app.add_option("--dtype", dtype, "float32, bfloat16, float16 (CUDA)")
      ->check(CLI::IsMember({"float32", "bfloat16", "float16", "fp32", "bf16", "fp16"}))->capture_default_str();
  app.add_option("--cache", cache_dir, "Embedding cache folder for --images (default: $RECAP_CACHE or ~/.cache/recap)");
  app.add_flag("--no-cache", no_cache, "Neither read nor write the embedding cache");
  std::int64_t max_image_pixels = vision::kDefaultMaxImagePixels;
  cli::add_max_image_pixels_option(app, max_image_pixels);
  app.add_flag("--force", force, "Overwrite existing outputs and discard partial results of an interrupted run");
  app.add_option("--stop-after-batches", stop_after_batches,
                 "Testing resumption: exit with status 75 after this many batches, as an interrupted run would")
      ->check(cli::kNonNegative)->group("Testing");
  cli::add_common_options(app, common);

  return cli::run(app, argc, argv, [&] {
    vision::set_max_image_pixels(max_image_pixels);
    // Every flag checked before any model is loaded.
    const bool with_lm = !lm_path.empty();
    if (!images_path.empty() && clip_path.empty()) throw UsageError("--images needs --clip to embed them");
    if (with_lm && clip_path.empty()) throw UsageError("--lm needs --clip to embed the candidate captions");
    if (!images_path.empty() && !ids_path.empty()) throw UsageError("--ids goes with --image-embeddings; --images names images by file");
    if (with_lm) {
      lm_options.k = k;
      lm_options.max_input_tokens = max_input_tokens;
      lm_options.beam = cli::generation_options(flags, "beam");
      lm_options.beam.num_beams = std::max(1, lm_options.candidate_beams);
      lm_options.beam.num_return_sequences = std::max(1, lm_options.candidate_beams);
      lm_options.sample = cli::generation_options(flags, sampling);
      lm_options.sample.num_return_sequences = std::max(1, lm_options.candidate_samples);
      lm_options.validate();
    }
    io::check_output_plan({{run_dir, embeddings_path, ids_path, images_path, clip_path, lm_path, datastore_dir},
                           {out_path, details_path, html_path},
                           {},
                           force,
                           {fs::path(out_path.string() + ".partial.jsonl")}});

    const io::FloatMatrix w = align::load_mapping(run_dir.string());
    if (datastore_dir.empty()) {
      datastore_dir = run_dir / "datastore";
      if (!fs::exists(datastore_dir))
        throw InputError(run_dir.string() + ": run has no datastore (fit without --captions); pass --datastore DIR");
    }
    const auto store = retrieval::Datastore::open(datastore_dir);
    if (store.dim() != w.cols)
      throw InputError(datastore_dir.string() + ": datastore embeddings have dimension " + std::to_string(store.dim()) +
                       " but the mapping produces " + std::to_string(w.cols));
    if (k > store.size())
      throw UsageError("--k " + std::to_string(k) + " is larger than the datastore (" + std::to_string(store.size()) +
                       " captions)");
    const bool normalize_queries = run_normalizes(run_dir);
    retrieval::SearchOptions search;
    search.kernel = retrieval::parse_search_kernel(search_kernel);
    search.threads = common.threads;
    lm_options.search = search;

    // Models.
    std::optional<models::ClipModel> clip;
    std::optional<models::T5Model> lm;
    const auto dev = models::parse_device(device);
    const auto precision = models::parse_precision(dtype);
    if (!clip_path.empty()) {
      models::ClipLoadOptions o;
      o.device = dev;
      o.precision = precision;
      o.threads = common.threads;
      clip.emplace(models::ClipModel::load(clip_path, o));
      if (clip->info().embed_dim != w.cols)
        throw InputError(clip_path.string() + ": CLIP embeds in " + std::to_string(clip->info().embed_dim) +
                         " dimensions but the run's mapping expects " + std::to_string(w.rows) + " -> " +
                         std::to_string(w.cols));
    }
    if (with_lm) {
      models::T5LoadOptions o;
      o.device = dev;
      o.precision = precision;
      o.threads = common.threads;
      lm.emplace(models::T5Model::load(lm_path, o));
      if (common.verbose) cli::note(lm->info().describe());
    }

    // Inputs: files (embedded batch by batch) or precomputed rows.
    std::vector<fs::path> files;
    std::vector<nlohmann::json> ids;
    io::FloatMatrix queries;
    if (!images_path.empty()) {
      if (!fs::exists(images_path)) throw InputError(images_path.string() + ": no such file or directory");
      files = models::list_media(images_path);
      if (files.empty()) throw InputError(images_path.string() + ": no images found");
      ids = data::image_ids_of_files(files, images_path);
    } else {
      queries = io::read_npy_matrix(embeddings_path);
      check_embedding_rows(queries, embeddings_path.string());
      if (queries.rows == 0) throw InputError(embeddings_path.string() + ": has no rows to caption");
      if (queries.cols != w.rows)
        throw InputError(embeddings_path.string() + ": embeddings have dimension " + std::to_string(queries.cols) +
                         " but the run's mapping expects " + std::to_string(w.rows));
      ids = ids_path.empty() ? caption::row_numbers_as_ids(queries.rows) : caption::load_image_ids(ids_path, queries.rows);
    }
    const auto total = static_cast<std::int64_t>(ids.size());

    // A resumed run continues only if everything that decides a caption is what it was: the
    // paths and the content of W, the datastore, the inputs and the models, and the options.
    const fs::path input_path = images_path.empty() ? embeddings_path : images_path;
    nlohmann::json settings = {{"run", fs::absolute(run_dir).string()}, {"datastore", fs::absolute(datastore_dir).string()},
                               {"k", k}, {"lm", with_lm ? fs::absolute(lm_path).string() : ""},
                               {"clip", clip_path.empty() ? "" : fs::absolute(clip_path).string()},
                               {"input", fs::absolute(input_path).string()},
                               {"images", total},
                               {"dtype", dtype}, {"device", device},
                               {"content", {{"mapping", io::file_hash(run_dir / "mapping.npy")},
                                            {"datastore", io::content_identity(datastore_dir)},
                                            {"input", io::content_identity(input_path)},
                                            {"ids", io::content_identity(ids_path)},
                                            {"clip", clip ? nlohmann::json(clip->info().fingerprint) : nlohmann::json()},
                                            {"lm", with_lm ? io::content_identity(lm_path) : nlohmann::json()}}}};
    if (with_lm) {
      const auto& b = lm_options.beam;
      const auto& s = lm_options.sample;
      settings["prompt_template"] = lm_options.prompt_template;
      settings["separator"] = lm_options.separator;
      settings["candidate_beams"] = lm_options.candidate_beams;
      settings["candidate_samples"] = lm_options.candidate_samples;
      settings["generation"] = {{"max_new_tokens", b.max_new_tokens}, {"min_new_tokens", b.min_new_tokens},
                                {"length_penalty", b.length_penalty}, {"early_stopping", b.early_stopping},
                                {"sampling", sampling}, {"temperature", s.temperature}, {"top_k", s.top_k},
                                {"top_p", s.top_p}, {"repetition_penalty", s.repetition_penalty},
                                {"no_repeat_ngram_size", s.no_repeat_ngram_size}, {"seed", s.seed},
                                {"max_input_tokens", max_input_tokens}};
    }
    ResumeLog log(fs::path(out_path.string() + ".partial.jsonl"), settings, force);
    if (log.resumed() > 0) cli::note("resuming: " + std::to_string(log.resumed()) + " images already captioned");

    std::optional<caption::LmCaptioner> captioner;
    if (with_lm) captioner.emplace(store, *clip, *lm, lm_options);
    models::EmbedOptions embed;
    embed.batch_size = batch_size;
    embed.use_cache = !no_cache;
    embed.cache_root = cache_dir;
    embed.warn = [](const std::string& message) { cli::note("skipped " + message); };

    std::vector<std::int64_t> pending;
    for (std::int64_t i = 0; i < total; ++i)
      if (log.find(ids[i]) == nullptr) pending.push_back(i);
    cli::Progress progress("captioning", total, "images");
    std::int64_t done = total - static_cast<std::int64_t>(pending.size()), skipped = 0;
    progress.update(done);
    for (std::size_t first = 0; first < pending.size(); first += static_cast<std::size_t>(batch_size)) {
      const auto count = std::min<std::size_t>(static_cast<std::size_t>(batch_size), pending.size() - first);
      std::vector<std::int64_t> positions(pending.begin() + first, pending.begin() + first + count);
      io::FloatMatrix x;
      if (!files.empty()) {
        std::vector<fs::path> batch_files;
        for (auto p : positions) batch_files.push_back(files[p]);
        auto embedded = models::embed_media(*clip, batch_files, embed);
        std::vector<std::int64_t> kept;
        for (auto idx : embedded.kept) kept.push_back(positions[idx]);
        skipped += static_cast<std::int64_t>(positions.size() - kept.size());
        positions = kept;
        x = std::move(embedded.embeddings);
      } else {
        x = io::FloatMatrix(static_cast<std::int64_t>(count), queries.cols);
        for (std::size_t r = 0; r < count; ++r)
          std::copy(queries.row(positions[r]), queries.row(positions[r]) + queries.cols, x.row(static_cast<std::int64_t>(r)));
      }
      std::vector<nlohmann::json> batch_ids;
      for (auto p : positions) batch_ids.push_back(ids[p]);
      if (!positions.empty()) {
        if (normalize_queries) normalize_rows(x);
        const io::FloatMatrix mapped = align::apply_map(x, w, true);
        std::vector<nlohmann::json> records;
        if (captioner) {
          records = captioner->caption(mapped, batch_ids, positions);
        } else {
          for (const auto& r : caption::caption_by_retrieval(store, mapped, batch_ids, k, search))
            records.push_back(caption::details_record(r, store));
        }
        for (std::size_t r = 0; r < records.size(); ++r) {
          if (!files.empty()) records[r]["file"] = files[positions[r]].string();
          log.add(records[r]);
        }
        log.sync();  // a crash from here on loses nothing of this batch
      }
      done += static_cast<std::int64_t>(count);
      progress.update(done);
      if (stop_after_batches > 0 && static_cast<int>(first / static_cast<std::size_t>(batch_size)) + 1 >= stop_after_batches) {
        cli::note("stopping after " + std::to_string(stop_after_batches) + " batches as asked; rerun to resume");
        std::fflush(nullptr);
        std::_Exit(75);
      }
    }
    progress.finish();

    // Final outputs, in input order, from the log (resumed and new alike).
    std::vector<nlohmann::json> records;
    nlohmann::json results = nlohmann::json::array();
    for (const auto& id : ids) {
      const nlohmann::json* r = log.find(id);
      if (r == nullptr) continue;  // unreadable image, reported above
      records.push_back(*r);
      results.push_back({{"image_id", id}, {"caption", (*r)["caption"]}});
    }
    if (results.empty()) {
      log.finish();  // nothing to resume: leave no partial log behind
      throw InputError(images_path.string() + ": none of the images could be read");
    }
    if (!details_path.empty()) io::write_jsonl(details_path, records);
    if (!html_path.empty()) {
      const int size = thumbnail_size;
      const auto html = caption::gallery_html(
          records,
          [size](const nlohmann::json& r) -> std::string {
            if (!r.contains("file")) return {};
            try {
              return vision::jpeg_thumbnail(r["file"].get<std::string>(), size);
            } catch (const Error&) {
              return {};
            }
          },
          "recap-caption: " + fs::path(out_path).filename().string());
      io::write_text_file(html_path, html);
    }
    io::write_json(out_path, results);
    log.finish();
    std::printf("captioned %lld images (%s, k = %lld, datastore of %lld captions%s) -> %s\n",
                static_cast<long long>(results.size()), with_lm ? "language model" : "retrieval only",
                static_cast<long long>(k), static_cast<long long>(store.size()),
                skipped ? (", " + std::to_string(skipped) + " unreadable images skipped").c_str() : "", out_path.c_str());
  });
}
