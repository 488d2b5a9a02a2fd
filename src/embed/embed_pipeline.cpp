// The embedding pipeline: cache lookups, worker-thread decoding one chunk of calls ahead
// of the model, cache appends after every call. No torch headers: it drives ClipModel.
#include "recap/embed/embed_pipeline.h"

#include <algorithm>
#include <atomic>
#include <fstream>
#include <future>
#include <thread>

#include "recap/common/error.h"
#include "recap/common/parallel.h"
#include "recap/common/rows.h"
#include "recap/io/folder_walk.h"
#include "recap/io/embedding_cache.h"
#include "recap/vision/video.h"

namespace fs = std::filesystem;

namespace recap::embed {
namespace {

std::unique_ptr<io::EmbeddingCache> open_cache(const models::ClipModel& model, const EmbedOptions& options,
                                               const std::string& kind) {
  if (!options.use_cache) return nullptr;
  nlohmann::json description = {{"model", model.info().fingerprint},
                                {"architecture", model.info().architecture},
                                {"kind", kind}};
  if (kind != "text") description["preprocess"] = model.preprocess_config().fingerprint();
  const fs::path root = options.cache_root.empty() ? io::default_cache_root() : options.cache_root;
  return std::make_unique<io::EmbeddingCache>(root, description, model.info().embed_dim);
}

int worker_count(const EmbedOptions& options) {
  return options.workers > 0 ? options.workers : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

void normalize_if(io::FloatMatrix& m, const EmbedOptions& options) {
  if (options.normalize) normalize_rows(m);
}

// One chunk of decoded, preprocessed images; failures carry their reason.
struct PreparedBatch {
  std::vector<std::size_t> items;  // indices into the input list
  std::vector<float> pixels;       // items.size() x 3 x R x R
  std::vector<std::string> errors; // empty when the item decoded
};

}  // namespace

std::vector<fs::path> list_media(const fs::path& source) {
  std::error_code ec;
  std::vector<fs::path> files;
  if (fs::is_directory(source, ec)) {
    for (auto& file : io::files_under(source))
      if (vision::has_image_extension(file) || vision::has_video_extension(file)) files.push_back(std::move(file));
    if (files.empty()) throw InputError(source.string() + ": no image or video files in this folder");
    return files;
  }
  std::ifstream in(source);
  if (!in) throw InputError(source.string() + ": no such folder or list file");
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    const fs::path p(line);
    files.push_back(p.is_absolute() ? p : source.parent_path() / p);
  }
  if (files.empty()) throw InputError(source.string() + ": the list names no files");
  return files;
}

MediaEmbeddings embed_media(const models::ClipModel& model, const std::vector<fs::path>& files, const EmbedOptions& options,
                            std::vector<float>* pixels_out) {
  if (options.batch_size <= 0) throw UsageError("--batch-size must be positive");
  const int dim = model.info().embed_dim;
  const int r = model.info().image_resolution;
  const std::size_t image_floats = static_cast<std::size_t>(3) * r * r;
  const int workers = worker_count(options);
  auto image_cache = open_cache(model, options, "image");
  auto video_cache = open_cache(model, options, "video" + std::to_string(options.video_frames));

  const std::size_t n = files.size();
  io::FloatMatrix all(static_cast<std::int64_t>(n), dim);
  std::vector<char> done(n, 0);
  std::vector<std::string> failure(n);
  std::vector<std::uint64_t> keys(n);
  std::vector<char> is_video(n);
  MediaEmbeddings result;
  // File identities (stat) and cache lookups first: a resumed job skips straight ahead.
  for (std::size_t i = 0; i < n; ++i) {
    is_video[i] = vision::has_video_extension(files[i]);
    try {
      keys[i] = io::hash64(io::file_identity(files[i]));
    } catch (const InputError& e) {
      failure[i] = e.what();
      continue;
    }
    auto* cache = is_video[i] ? video_cache.get() : image_cache.get();
    if (cache && (!pixels_out || is_video[i]) && cache->lookup(keys[i], all.row(static_cast<std::int64_t>(i)))) {
      done[i] = 1;
      ++result.cache_hits;
    }
  }
  std::vector<std::size_t> images, videos;
  for (std::size_t i = 0; i < n; ++i) {
    if (done[i] || !failure[i].empty()) continue;
    (is_video[i] ? videos : images).push_back(i);
  }
  std::int64_t finished = static_cast<std::int64_t>(n - images.size() - videos.size());
  if (options.progress) options.progress(finished, static_cast<std::int64_t>(n));

  std::vector<float> kept_pixels;  // per input index, only when pixels_out is wanted
  if (pixels_out) kept_pixels.resize(n * image_floats);
  const auto& preprocess = model.preprocess_config();
  // Images are decoded a chunk of whole calls at a time: as many calls as the model walks
  // through its layers together (ClipModel::calls_encoded_together), one chunk ahead.
  const std::size_t chunk = static_cast<std::size_t>(options.batch_size) *
                            static_cast<std::size_t>(model.calls_encoded_together(options.batch_size));
  auto prepare = [&](std::size_t first) {
    PreparedBatch batch;
    const std::size_t count = std::min<std::size_t>(chunk, images.size() - first);
    batch.items.assign(images.begin() + first, images.begin() + first + count);
    batch.pixels.resize(count * image_floats);
    batch.errors.resize(count);
    parallel_for_each_index(count, workers, [&](std::size_t k) {
      try {
        vision::preprocess_file(files[batch.items[k]], preprocess, batch.pixels.data() + k * image_floats);
      } catch (const InputError& e) {
        batch.errors[k] = e.what();
      }
    });
    return batch;
  };
  // Chunk c+1 is decoded on worker threads while the model runs chunk c.
  std::future<PreparedBatch> next;
  if (!images.empty()) next = std::async(std::launch::async, prepare, 0);
  for (std::size_t first = 0; first < images.size(); first += chunk) {
    PreparedBatch batch = next.get();
    if (first + chunk < images.size()) next = std::async(std::launch::async, prepare, first + chunk);
    // Compact the decodable items, run the model in calls of --batch-size, scatter rows back.
    std::vector<std::size_t> ok;
    for (std::size_t k = 0; k < batch.items.size(); ++k) {
      if (!batch.errors[k].empty()) {
        failure[batch.items[k]] = batch.errors[k];
        if (options.strict) throw InputError(batch.errors[k]);
        continue;
      }
      if (ok.size() != k) std::copy_n(batch.pixels.data() + k * image_floats, image_floats, batch.pixels.data() + ok.size() * image_floats);
      ok.push_back(batch.items[k]);
    }
    model.encode_image_calls(
        batch.pixels.data(), static_cast<std::int64_t>(ok.size()), options.batch_size,
        [&](std::int64_t call_first, const io::FloatMatrix& embedded) {
          std::vector<std::uint64_t> call_keys;
          for (std::int64_t k = 0; k < embedded.rows; ++k) {
            const std::size_t item = ok[static_cast<std::size_t>(call_first + k)];
            std::copy_n(embedded.row(k), dim, all.row(static_cast<std::int64_t>(item)));
            if (pixels_out) {
              std::copy_n(batch.pixels.data() + static_cast<std::size_t>(call_first + k) * image_floats, image_floats,
                          kept_pixels.data() + item * image_floats);
            }
            done[item] = 1;
            call_keys.push_back(keys[item]);
          }
          if (image_cache) image_cache->insert(call_keys, embedded.data());
        });
    finished += static_cast<std::int64_t>(batch.items.size());
    if (options.progress) options.progress(finished, static_cast<std::int64_t>(n));
  }
  // Videos: frames of one video form one batch; its row is the mean frame embedding.
  for (std::size_t i : videos) {
    try {
      const auto frames = vision::sample_video_frames(files[i], options.video_frames);
      std::vector<float> pixels(frames.size() * image_floats);
      parallel_for_each_index(frames.size(), workers, [&](std::size_t k) {
        vision::preprocess(frames[k], preprocess, pixels.data() + k * image_floats);
      });
      const io::FloatMatrix embedded = model.encode_images(pixels.data(), static_cast<std::int64_t>(frames.size()));
      float* row = all.row(static_cast<std::int64_t>(i));
      std::fill(row, row + dim, 0.0f);
      for (std::int64_t f = 0; f < embedded.rows; ++f)
        for (int d = 0; d < dim; ++d) row[d] += embedded.row(f)[d] / static_cast<float>(embedded.rows);
      done[i] = 1;
      if (video_cache) video_cache->insert({keys[i]}, row);
    } catch (const InputError& e) {
      failure[i] = e.what();
      if (options.strict) throw;
    }
    if (options.progress) options.progress(++finished, static_cast<std::int64_t>(n));
  }

  std::size_t rows = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (done[i]) {
      if (rows != i) std::copy_n(all.row(static_cast<std::int64_t>(i)), dim, all.row(static_cast<std::int64_t>(rows)));
      result.kept.push_back(i);
      if (pixels_out && !is_video[i]) {
        pixels_out->insert(pixels_out->end(), kept_pixels.begin() + i * image_floats,
                           kept_pixels.begin() + (i + 1) * image_floats);
      }
      ++rows;
    } else {
      if (failure[i].empty()) failure[i] = files[i].string() + ": not embedded";
      if (options.strict) throw InputError(failure[i]);
      result.skipped.push_back(failure[i]);
      if (options.warn) options.warn(failure[i]);
    }
  }
  all.rows = static_cast<std::int64_t>(rows);
  all.values.resize(rows * static_cast<std::size_t>(dim));
  normalize_if(all, options);
  result.embeddings = std::move(all);
  return result;
}

io::FloatMatrix embed_token_ids(const models::ClipModel& model, const std::int64_t* ids, std::int64_t n, std::int64_t length,
                                const EmbedOptions& options) {
  if (options.batch_size <= 0) throw UsageError("--batch-size must be positive");
  // Checked here, in the caller's row order: the batches below are sorted by length, and
  // a bad id found inside one would be reported by its row in that batch.
  model.check_token_ids(ids, n, length);
  const int dim = model.info().embed_dim;
  auto cache = open_cache(model, options, "text");
  io::FloatMatrix all(n, dim);
  std::vector<std::int64_t> todo;
  std::vector<std::uint64_t> keys(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    // Trailing padding does not change the embedding; keying on the ids up to the end
    // token makes rows of any padded length share cache entries.
    const std::int64_t* row = ids + i * length;
    std::int64_t used = length;
    while (used > 1 && row[used - 1] == 0) --used;
    keys[i] = io::hash64(std::string_view(reinterpret_cast<const char*>(row), sizeof(std::int64_t) * used));
    if (!cache || !cache->lookup(keys[i], all.row(i))) todo.push_back(i);
  }
  // Batches of captions of similar length: the model stops at the batch's longest
  // caption, so sorting by length (the end-of-text position) skips most of the padding.
  std::vector<std::int64_t> end_of_text(static_cast<std::size_t>(n));
  for (std::int64_t i : todo) end_of_text[i] = models::end_of_text_position(ids + i * length, length);
  std::stable_sort(todo.begin(), todo.end(), [&](std::int64_t a, std::int64_t b) { return end_of_text[a] < end_of_text[b]; });
  if (options.progress) options.progress(n - static_cast<std::int64_t>(todo.size()), n);
  // Calls may finish out of order (ClipModel::encode_token_id_calls): progress counts them.
  std::int64_t done = n - static_cast<std::int64_t>(todo.size());
  model.encode_token_id_calls(ids, length, todo, options.batch_size,
                              [&](std::int64_t first, const io::FloatMatrix& embedded) {
                                std::vector<std::uint64_t> call_keys;
                                for (std::int64_t k = 0; k < embedded.rows; ++k) {
                                  std::copy_n(embedded.row(k), dim, all.row(todo[first + k]));
                                  call_keys.push_back(keys[todo[first + k]]);
                                }
                                if (cache) cache->insert(call_keys, embedded.data());
                                done += embedded.rows;
                                if (options.progress) options.progress(done, n);
                              });
  normalize_if(all, options);
  return all;
}

io::FloatMatrix embed_texts(const models::ClipModel& model, const std::vector<std::string>& texts, const EmbedOptions& options) {
  const int length = model.info().context_length;
  std::vector<std::int64_t> ids(texts.size() * static_cast<std::size_t>(length));
  model.tokenizer().tokenize_batch(texts, length, ids.data());
  return embed_token_ids(model, ids.data(), static_cast<std::int64_t>(texts.size()), length, options);
}

}  // namespace recap::embed
