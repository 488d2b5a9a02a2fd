#pragma once
// Frames of a video for CLIP (MSRVTT-style evaluation): N frames sampled uniformly over
// the clip, as np.linspace(0, frames - 1, N).astype(int) picks them, decoded with OpenCV.
#include <filesystem>
#include <vector>

#include "recap/vision/image.h"

namespace recap::vision {

// Throws InputError when the file cannot be opened or holds no frames. Returns fewer than
// `count` frames only when the video is shorter than `count`.
std::vector<DecodedImage> sample_video_frames(const std::filesystem::path& path, int count);

bool has_video_extension(const std::filesystem::path& path);

}  // namespace recap::vision
