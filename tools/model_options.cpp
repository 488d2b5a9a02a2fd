#include "model_options.h"

#include "cli_support.h"

namespace recap::cli {

void add_device_options(CLI::App& app, std::string& device, std::string& dtype) {
  app.add_option("--device", device, "Where CLIP and the language model run: cpu or cuda")
      ->check(CLI::IsMember({"cpu", "cuda"}))->capture_default_str();
  app.add_option("--dtype", dtype,
                 "Model weights and activations: float32, bfloat16 (CPU through oneDNN, or CUDA) or float16 (CUDA)")
      ->check(CLI::IsMember({"float32", "bfloat16", "float16", "fp32", "bf16", "fp16"}))->capture_default_str();
}

void add_cache_options(CLI::App& app, std::string& cache, bool& no_cache) {
  app.add_option("--cache", cache, "Embedding cache folder (default: $RECAP_CACHE or ~/.cache/recap)");
  app.add_flag("--no-cache", no_cache, "Neither read nor write the embedding cache");
}

void add_video_frames_option(CLI::App& app, int& frames) {
  app.add_option("--video-frames", frames, "Frames sampled uniformly per video (their embeddings are mean-pooled)")
      ->check(kPositive)->capture_default_str();
}

void add_embed_options(CLI::App& app, embed::EmbedSettings& s) {
  app.add_option("--batch-size", s.batch_size, "With --clip: items per CLIP model call (recap-embed --batch-size)")
      ->check(kPositive);
  add_cache_options(app, s.cache, s.no_cache);
  add_device_options(app, s.device, s.dtype);
  add_max_image_pixels_option(app, s.max_image_pixels);
  add_video_frames_option(app, s.video_frames);
}

}  // namespace recap::cli
