// recap-embed: CLIP embeddings of images, videos, captions, token ids or preprocessed
// pixels, as row-major float32 .npy.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <optional>

#include "cli_support.h"
#include "model_options.h"
#include "recap/common/error.h"
#include "recap/common/rows.h"
#include "recap/common/shard.h"
#include "recap/data/captions.h"
#include "recap/data/media_index.h"
#include "recap/io/atomic_file.h"
#include "recap/io/json_file.h"
#include "recap/io/npy.h"
#include "recap/io/npy_tensor.h"
#include "recap/io/output_rule.h"
#include "recap/models/clip_model.h"
#include "recap/models/model_gemm.h"
#include "recap/embed/embed_pipeline.h"
#include "recap/text/clip_text.h"
#include "recap/vision/image.h"

namespace fs = std::filesystem;
using namespace recap;

namespace {

// A bar on a terminal, a line every few seconds otherwise; rate and ETA either way.
class Progress {
 public:
  explicit Progress(std::string what) : what_(std::move(what)), tty_(::isatty(STDERR_FILENO)) {}
  void operator()(std::int64_t done, std::int64_t total) {
    const auto now = std::chrono::steady_clock::now();
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    if (done < total && std::chrono::duration<double>(now - last_).count() < (tty_ ? 0.2 : 5.0)) return;
    last_ = now;
    if (first_done_ < 0) first_done_ = done;  // cache hits are not part of the rate
    const double rate = elapsed > 0 ? (done - first_done_) / elapsed : 0;
    const double eta = rate > 0 ? (total - done) / rate : 0;
    char line[200];
    std::snprintf(line, sizeof line, "%s %lld/%lld (%.1f/s, ETA %.0fs)", what_.c_str(), static_cast<long long>(done),
                  static_cast<long long>(total), rate, eta);
    if (tty_) {
      const int width = 30, filled = total > 0 ? static_cast<int>(width * done / total) : width;
      std::fprintf(stderr, "\r%s: [%s%s] %s", program_name().c_str(), std::string(filled, '#').c_str(),
                   std::string(width - filled, '.').c_str(), line);
      if (done >= total) std::fputc('\n', stderr);
    } else {
      std::fprintf(stderr, "%s: %s\n", program_name().c_str(), line);
    }
  }

 private:
  std::string what_;
  bool tty_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_{};
  std::int64_t first_done_ = -1;
};

// The model's own time, from the first batch to the last, as engines such as ONNX Runtime
// report theirs: reading, checking and writing files are left out.
void note_model_time(std::int64_t items, const char* what, std::chrono::steady_clock::time_point start) {
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  char text[160];
  std::snprintf(text, sizeof text, "encoded %lld %s in %.3f s of model time (%.1f/s)", static_cast<long long>(items), what,
                seconds, seconds > 0 ? static_cast<double>(items) / seconds : 0.0);
  cli::note(text);
}

std::vector<std::string> read_captions(const fs::path& path, const std::string& prefix) {
  std::vector<std::string> lines = io::read_lines(path);
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  if (lines.empty()) throw InputError(path.string() + ": no captions (one per line expected)");
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string where = path.string() + ":" + std::to_string(i + 1);
    text::check_utf8(lines[i], where);
    if (text::collapse_whitespace(lines[i]).empty()) throw InputError(where + ": empty caption");
    lines[i] = prefix + lines[i];
  }
  return lines;
}

// Every flag of recap-embed.
struct EmbedFlags {
  fs::path model_path, out, tokenizer_path;
  std::string cache_dir;
  std::optional<fs::path> pixels_in, token_ids_in, texts_in, images_in;
  fs::path token_ids_out, pixels_out, ids_out, files_out, rows_out;
  std::string shard;
  std::string prefix, device = "cpu", dtype = "float32";
  embed::EmbedOptions embed;
  bool force = false, no_cache = false;
  int text_heads = 0, vision_heads = 0;
  std::int64_t max_image_pixels = vision::kDefaultMaxImagePixels;
};

void add_embed_flags(CLI::App& app, EmbedFlags& f) {

  app.add_option("--clip", f.model_path, "CLIP weights: Hugging Face folder, OpenAI .pt, or OpenAI-layout .safetensors")
      ->required();
  auto* inputs = app.add_option_group("input", "exactly one input");
  inputs->add_option("--pixels", f.pixels_in, "Preprocessed images, N x 3 x R x R float32 .npy");
  inputs->add_option("--token-ids", f.token_ids_in, "Token ids, N x L integer .npy (L <= context length)");
  inputs->add_option("--texts", f.texts_in, "UTF-8 text file, one caption per line");
  inputs->add_option("--images", f.images_in, "Folder of images/videos (recursive, sorted) or a list file of paths");
  inputs->require_option(1);
  app.add_option("--out", f.out, "Output embeddings .npy")->required();
  app.add_flag("--normalize", f.embed.normalize, "L2-normalise each embedding");
  app.add_option("--batch-size", f.embed.batch_size, "Items per model call")->check(cli::kPositive);
  app.add_option("--workers", f.embed.workers, "Image decoding threads (default: all cores)")->check(cli::kNonNegative);
  app.add_option("--prefix", f.prefix, "Text prepended to every caption of --texts (e.g. \"A photo depicts \")");
  app.add_option("--token-ids-out", f.token_ids_out, "With --texts: also write the N x 77 int64 token ids");
  app.add_option("--pixels-out", f.pixels_out, "With --images: also write the preprocessed N x 3 x R x R pixels");
  app.add_option("--files-out", f.files_out, "With --images: JSON list of the file each output row came from, as listed");
  app.add_option("--ids-out", f.ids_out, "With --images: JSON list of the image id of each output row (the number in COCO-style names, else "
                 "the path relative to the folder), as recap-caption and recap-score name images");
  cli::add_video_frames_option(app, f.embed.video_frames);
  app.add_option("--shard", f.shard,
                 "I/N (zero-based): with --images or --texts, embed only the slice whose image ids (captions) hash to "
                 "shard I of N; the N slices are disjoint, cover the input and do not depend on its order");
  app.add_option("--rows-out", f.rows_out,
                 "JSON list of the input row (0-based line of --texts, file of --images) of each output row");
  app.add_flag("--strict", f.embed.strict, "Fail on the first unreadable image instead of skipping it");
  cli::add_max_image_pixels_option(app, f.max_image_pixels);
  cli::add_cache_options(app, f.cache_dir, f.no_cache);
  cli::add_device_options(app, f.device, f.dtype);
  app.add_option("--tokenizer", f.tokenizer_path, "Tokenizer folder or bpe_simple_vocab_16e6.txt.gz (default: beside the weights)");
  app.add_option("--text-heads", f.text_heads, "Text attention heads when the weights do not say (default: width / 64)");
  app.add_option("--vision-heads", f.vision_heads, "Vision attention heads when the weights do not say");
  app.add_flag("--force", f.force, "Overwrite existing outputs");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Embed images, videos, captions, token ids or preprocessed pixels with CLIP.\n"
               "Outputs n x d float32 .npy: projected encoder outputs, L2-normalised with --normalize."};
  cli::CommonOptions common;
  cli::add_common_options(app, common);
  EmbedFlags f;
  add_embed_flags(app, f);

  return cli::run(app, argc, argv, [&] {
    vision::set_max_image_pixels(f.max_image_pixels);
    if (!f.token_ids_out.empty() && !f.texts_in) throw UsageError("--token-ids-out needs --texts");
    if ((!f.pixels_out.empty() || !f.ids_out.empty() || !f.files_out.empty()) && !f.images_in)
      throw UsageError("--pixels-out, --ids-out and --files-out need --images");
    if (!f.prefix.empty() && !f.texts_in) throw UsageError("--prefix needs --texts");
    if ((!f.shard.empty() || !f.rows_out.empty()) && !f.texts_in && !f.images_in)
      throw UsageError("--shard and --rows-out apply to --images and --texts");
    const Shard shard = f.shard.empty() ? Shard{} : parse_shard(f.shard);
    io::check_output_plan({{f.model_path, f.tokenizer_path, f.pixels_in.value_or(""), f.token_ids_in.value_or(""),
                            f.texts_in.value_or(""), f.images_in.value_or("")},
                           {f.out, f.token_ids_out, f.pixels_out, f.ids_out, f.files_out, f.rows_out},
                           {},
                           f.force});
    models::ClipLoadOptions load;
    load.device = models::parse_device(f.device);
    load.precision = models::parse_precision(f.dtype);
    load.threads = common.threads;
    load.tokenizer = f.tokenizer_path;
    load.text_heads = f.text_heads;
    load.vision_heads = f.vision_heads;
    const auto t0 = std::chrono::steady_clock::now();
    const models::ClipModel model = models::ClipModel::load(f.model_path, load);
    const auto& info = model.info();
    const double load_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (common.verbose) {
      cli::note("model " + info.layout + ": " + info.architecture + ", " + models::precision_name(info.precision) +
                ", fingerprint " + info.fingerprint + ", loaded in " + std::to_string(load_seconds).substr(0, 5) + " s");
      cli::note("preprocessing " + model.preprocess_config().fingerprint());
      if (load.device == models::Device::cpu) cli::note(models::describe_model_gemm());
    }
    f.embed.use_cache = !f.no_cache;
    f.embed.cache_root = f.cache_dir;
    f.embed.warn = [](const std::string& message) { cli::note("warning: skipped " + message); };
    Progress progress(f.images_in ? "files" : f.pixels_in ? "images" : "texts");
    f.embed.progress = [&](std::int64_t done, std::int64_t total) { progress(done, total); };

    io::FloatMatrix result;
    std::vector<std::size_t> input_rows;  // the input row of each output row (--texts, --images)
    if (f.pixels_in) {
      const auto pixels = io::read_npy_float(*f.pixels_in);
      const int r = info.image_resolution;
      if (pixels.shape.size() != 4 || pixels.shape[1] != 3 || pixels.shape[2] != r || pixels.shape[3] != r) {
        std::string shape;
        for (auto s : pixels.shape) shape += (shape.empty() ? "" : ", ") + std::to_string(s);
        throw InputError(f.pixels_in->string() + ": expected shape (N, 3, " + std::to_string(r) + ", " + std::to_string(r) +
                         ") for this model, got (" + shape + ")");
      }
      const std::size_t image_floats = static_cast<std::size_t>(3) * r * r;
      // One "row" per image: a NaN pixel would make a NaN embedding.
      check_finite(pixels.values.data(), pixels.shape[0], static_cast<std::int64_t>(image_floats), f.pixels_in->string());
      result = io::FloatMatrix(pixels.shape[0], info.embed_dim);
      const auto encode_start = std::chrono::steady_clock::now();
      model.encode_image_calls(pixels.values.data(), pixels.shape[0], f.embed.batch_size,
                               [&](std::int64_t first, const io::FloatMatrix& part) {
                                 std::copy(part.values.begin(), part.values.end(), result.row(first));
                                 progress(first + part.rows, pixels.shape[0]);
                               });
      if (common.verbose) note_model_time(pixels.shape[0], "images", encode_start);
      if (f.embed.normalize) normalize_rows(result);
    } else if (f.token_ids_in) {
      std::vector<std::int64_t> shape;
      const auto ids = io::read_npy_int64(*f.token_ids_in, &shape);
      if (shape.size() != 2) throw InputError(f.token_ids_in->string() + ": expected a 2-D array of token ids (N x L)");
      try {
        const auto encode_start = std::chrono::steady_clock::now();
        result = embed::embed_token_ids(model, ids.data(), shape[0], shape[1], f.embed);
        if (common.verbose) note_model_time(shape[0], "texts", encode_start);
      } catch (const InputError& e) {
        throw InputError(f.token_ids_in->string() + ": " + e.what());
      }
    } else if (f.texts_in) {
      auto captions = read_captions(*f.texts_in, f.prefix);
      input_rows = select_shard(captions, shard);
      if (!shard.whole()) {
        std::vector<std::string> mine;
        for (auto row : input_rows) mine.push_back(std::move(captions[row]));
        captions = std::move(mine);
        if (captions.empty()) throw InputError(f.texts_in->string() + ": shard " + shard.label() + " holds none of its captions");
      }
      const int length = info.context_length;
      std::vector<std::int64_t> ids(captions.size() * static_cast<std::size_t>(length));
      std::size_t truncated = 0;
      for (std::size_t i = 0; i < captions.size(); ++i) {
        bool cut = false;
        const auto row = model.tokenizer().tokenize(captions[i], length, &cut);
        truncated += cut;
        std::copy(row.begin(), row.end(), ids.begin() + i * length);
      }
      if (truncated) cli::note(std::to_string(truncated) + " caption(s) longer than " + std::to_string(length) + " tokens were truncated");
      result = embed::embed_token_ids(model, ids.data(), static_cast<std::int64_t>(captions.size()), length, f.embed);
      if (!f.token_ids_out.empty()) io::write_npy(f.token_ids_out, ids.data(), {static_cast<std::int64_t>(captions.size()), length});
    } else {
      auto files = embed::list_media(*f.images_in);
      auto all_ids = data::image_ids_of_files(files, *f.images_in);
      std::vector<std::string> keys;
      for (const auto& id : all_ids) keys.push_back(data::id_key(id));
      const auto in_shard = select_shard(keys, shard);
      if (!shard.whole()) {
        std::vector<fs::path> mine;
        std::vector<nlohmann::json> mine_ids;
        for (auto row : in_shard) {
          mine.push_back(files[row]);
          mine_ids.push_back(all_ids[row]);
        }
        files = std::move(mine);
        all_ids = std::move(mine_ids);
        if (files.empty()) throw InputError(f.images_in->string() + ": shard " + shard.label() + " holds none of its files");
      }
      std::vector<float> pixels;
      const auto media = embed::embed_media(model, files, f.embed, f.pixels_out.empty() ? nullptr : &pixels);
      if (media.embeddings.rows == 0) throw InputError(f.images_in->string() + ": no file could be embedded");
      if (!media.skipped.empty()) cli::note(std::to_string(media.skipped.size()) + " file(s) skipped (use --strict to fail instead)");
      if (common.verbose) cli::note(std::to_string(media.cache_hits) + " embedding(s) from the cache");
      result = media.embeddings;
      if (!f.pixels_out.empty()) {
        const std::int64_t r = info.image_resolution;
        io::write_npy(f.pixels_out, pixels.data(), {static_cast<std::int64_t>(pixels.size() / (3 * r * r)), 3, r, r});
      }
      for (std::size_t i : media.kept) input_rows.push_back(in_shard[i]);
      if (!f.ids_out.empty()) {
        nlohmann::json ids = nlohmann::json::array();
        for (std::size_t i : media.kept) ids.push_back(all_ids[i]);
        io::write_json(f.ids_out, ids);
      }
      if (!f.files_out.empty()) {
        nlohmann::json kept_files = nlohmann::json::array();
        for (std::size_t i : media.kept) kept_files.push_back(files[i].string());
        io::write_json(f.files_out, kept_files);
      }
    }
    if (!f.rows_out.empty()) io::write_json(f.rows_out, nlohmann::json(input_rows));
    io::write_npy(f.out, result);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    cli::note("wrote " + f.out.string() + " (" + std::to_string(result.rows) + " x " + std::to_string(result.cols) + ", " +
              (f.embed.normalize ? "L2-normalised" : "un-normalised") + ") in " + std::to_string(seconds).substr(0, 6) + " s");
  });
}
