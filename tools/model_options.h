#pragma once
// The model and cache flags, declared once for every tool that has them (in-process
// models or through recap-embed), so that their names, checks and help read the same.
#include <CLI/CLI.hpp>
#include <string>

#include "recap/embed/embed_subprocess.h"

namespace recap::cli {

// --device cpu|cuda and --dtype float32|bfloat16|float16 (and their short names).
void add_device_options(CLI::App& app, std::string& device, std::string& dtype);

// --cache DIR and --no-cache.
void add_cache_options(CLI::App& app, std::string& cache, bool& no_cache);

// --video-frames N: frames sampled uniformly per video, their embeddings mean-pooled.
void add_video_frames_option(CLI::App& app, int& frames);

// For tools that embed through recap-embed: --batch-size, the cache, the device and
// --max-image-pixels. --clip, --threads and --strict belong to the tool (their help
// differs per tool).
void add_embed_options(CLI::App& app, embed::EmbedSettings& settings);

}  // namespace recap::cli
