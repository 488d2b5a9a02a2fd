#pragma once
// Saving a trained CLIP as a Hugging Face CLIPModel folder (private to src/train).
#include <filesystem>

#include "../models/clip_modules.h"
#include "recap/text/clip_tokenizer.h"

namespace recap::train {

// config.json, model.safetensors (Hugging Face names: the inverse of the loader's
// hf_to_openai) and preprocessor_config.json; the tokenizer files are already there.
void write_hf_clip(const std::filesystem::path& folder, models::detail::Clip& model,
                   const text::ClipTokenizer& tokenizer);

}  // namespace recap::train
