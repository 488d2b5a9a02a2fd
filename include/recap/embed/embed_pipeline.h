#pragma once
// Images, videos and captions -> CLIP embeddings, the way every recap tool needs them:
// batched, with decoding and preprocessing on worker threads overlapping the model, and
// through the on-disk cache (recap/io/embedding_cache.h) so nothing is embedded twice.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "recap/io/matrix.h"
#include "recap/models/clip_model.h"

namespace recap::embed {

struct EmbedOptions {
  int batch_size = 64;
  int workers = 0;             // decoding threads; <= 0: hardware threads
  bool normalize = false;      // L2-normalise the output rows (the cache keeps raw rows)
  bool strict = false;         // an unreadable image is an error instead of a skipped row
  bool use_cache = true;
  std::filesystem::path cache_root;  // empty: io::default_cache_root()
  int video_frames = 8;        // frames sampled per video, embeddings mean-pooled
  // Called after each batch with (done, total) items.
  std::function<void(std::int64_t, std::int64_t)> progress;
  // Called once per skipped file with "path: reason".
  std::function<void(const std::string&)> warn;
};

struct MediaEmbeddings {
  io::FloatMatrix embeddings;          // one row per embedded file, in input order
  std::vector<std::size_t> kept;       // index into the input list of each row
  std::vector<std::string> skipped;    // "path: reason" for each file left out
  std::int64_t cache_hits = 0;
};

// Files with an image or video extension in `folder` (recursively), sorted by path; or
// the lines of a list file (paths relative to the list's folder unless absolute).
std::vector<std::filesystem::path> list_media(const std::filesystem::path& folder_or_list);

// Embeds images (and videos: frames sampled uniformly, embeddings averaged). When
// `pixels_out` is given it receives the preprocessed tensors of the kept *images*
// (n x 3 x R x R), which forces them to be decoded even when cached.
MediaEmbeddings embed_media(const models::ClipModel& model, const std::vector<std::filesystem::path>& files,
                            const EmbedOptions& options, std::vector<float>* pixels_out = nullptr);

// Embeds captions (tokenised with the model's tokenizer, truncated to its context).
io::FloatMatrix embed_texts(const models::ClipModel& model, const std::vector<std::string>& texts, const EmbedOptions& options);

// Embeds rows of token ids (n x length).
io::FloatMatrix embed_token_ids(const models::ClipModel& model, const std::int64_t* ids, std::int64_t n, std::int64_t length,
                                const EmbedOptions& options);

}  // namespace recap::embed
