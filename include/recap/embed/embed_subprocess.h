#pragma once
// CLIP embeddings for the tools that stay free of LibTorch (recap-fit, recap-score): they
// run the recap-embed executable built beside them. Loading LibTorch would cost those
// tools more start-up time than their own work, and its headers ~45 s per compile.
// recap-embed's cache (keyed by model, preprocessing and file) means a rerun of the
// calling tool does not embed the same images twice.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace recap::embed {

// What the calling tool passes through to recap-embed (empty / 0: recap-embed's default).
struct EmbedSettings {
  std::string clip;         // --clip MODEL
  int threads = 0;          // --threads, and --workers (decoding threads) with it
  int batch_size = 0;       // --batch-size
  std::string cache;        // --cache DIR
  bool no_cache = false;    // --no-cache
  std::string device = "cpu";      // --device cpu|cuda
  std::string dtype = "float32";   // --dtype
  std::int64_t max_image_pixels = 0;  // --max-image-pixels
  int video_frames = 8;     // --video-frames: frames sampled per video, embeddings mean-pooled
  bool strict = false;      // an unreadable image fails the run instead of being skipped
  bool verbose = false;     // relay all of recap-embed's notes, not only progress and warnings
};

class EmbedSubprocess {
 public:
  // UsageError when no recap-embed sits beside the running executable.
  explicit EmbedSubprocess(EmbedSettings settings);

  struct Images {
    std::filesystem::path embeddings;  // kept.size() x d float32 .npy
    std::vector<std::size_t> kept;     // for each row, its index in the input list
  };
  // Embeds `files` into `scratch`/images.npy. Unreadable files are left out (a warning
  // each, relayed from recap-embed) unless settings.strict.
  Images embed_images(const std::vector<std::filesystem::path>& files, const std::filesystem::path& scratch,
                      bool normalize);

  // Embeds prefix + text for every text into `scratch`/texts.npy (one row each, in order).
  std::filesystem::path embed_texts(const std::vector<std::string>& texts, const std::string& prefix,
                                    const std::filesystem::path& scratch, bool normalize);

  // The model fingerprint recap-embed reported, or "" when its notes did not carry one.
  const std::string& fingerprint() const { return fingerprint_; }

 private:
  void run(std::vector<std::string> args);

  EmbedSettings settings_;
  std::filesystem::path tool_;
  std::string fingerprint_;
};

}  // namespace recap::embed
