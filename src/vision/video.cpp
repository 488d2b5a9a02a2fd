// Uniform frame sampling with OpenCV's VideoCapture.
#include "recap/vision/video.h"

#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>
#include <opencv2/videoio/registry.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>

#include "recap/common/error.h"

namespace recap::vision {
namespace {

DecodedImage to_image(const cv::Mat& bgr) {
  cv::Mat rgb;
  if (bgr.channels() == 1) rgb = bgr.clone();
  else cv::cvtColor(bgr, rgb, bgr.channels() == 4 ? cv::COLOR_BGRA2RGB : cv::COLOR_BGR2RGB);
  if (!rgb.isContinuous()) rgb = rgb.clone();
  DecodedImage image;
  image.width = rgb.cols;
  image.height = rgb.rows;
  image.channels = rgb.channels();
  image.pixels.assign(rgb.data, rgb.data + rgb.total() * rgb.elemSize());
  return image;
}

// np.linspace(0, frames - 1, count).astype(int)
std::vector<long> uniform_indices(long frames, int count) {
  std::vector<long> indices;
  if (count == 1) return {0};
  for (int i = 0; i < count; ++i) {
    indices.push_back(static_cast<long>(static_cast<double>(i) * (frames - 1) / (count - 1)));
  }
  return indices;
}

// FFmpeg alone where OpenCV has it: it reads every common container, and decodes the same
// frames on every machine. Falling through to GStreamer for a file FFmpeg cannot open
// floods stderr and leaks in GStreamer's plugins; only a build without FFmpeg uses the
// other backends.
bool open_video(cv::VideoCapture& capture, const std::filesystem::path& path) {
  static const bool has_ffmpeg = cv::videoio_registry::hasBackend(cv::CAP_FFMPEG);
  return capture.open(path.string(), has_ffmpeg ? cv::CAP_FFMPEG : cv::CAP_ANY);
}

long count_frames(const std::filesystem::path& path) {
  cv::VideoCapture capture;
  open_video(capture, path);
  long frames = 0;
  while (capture.grab()) ++frames;
  return frames;
}

}  // namespace

std::vector<DecodedImage> sample_video_frames(const std::filesystem::path& path, int count) {
  if (count <= 0) throw UsageError("frames per video must be positive, got " + std::to_string(count));
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw InputError(path.string() + ": no such video file");
  cv::VideoCapture capture;
  try {
    open_video(capture, path);
  } catch (const cv::Exception& e) {
    throw InputError(path.string() + ": cannot open video (" + e.err + ")");
  }
  if (!capture.isOpened()) throw InputError(path.string() + ": cannot open video");
  // The container's frame count can be missing or wrong; counting by decoding is exact.
  long frames = static_cast<long>(capture.get(cv::CAP_PROP_FRAME_COUNT));
  const long counted = count_frames(path);
  if (counted > 0) frames = counted;
  if (frames <= 0) throw InputError(path.string() + ": video holds no decodable frames");
  const int wanted = static_cast<int>(std::min<long>(count, frames));
  const auto indices = uniform_indices(frames, wanted);
  // Sequential reading: seeking is frame-exact only for some codecs.
  std::vector<DecodedImage> result;
  cv::Mat frame;
  std::size_t next = 0;
  for (long index = 0; next < indices.size() && capture.grab(); ++index) {
    if (index != indices[next]) continue;
    if (!capture.retrieve(frame) || frame.empty()) throw InputError(path.string() + ": cannot decode frame " + std::to_string(index));
    const DecodedImage image = to_image(frame);
    while (next < indices.size() && indices[next] == index) {
      result.push_back(image);
      ++next;
    }
  }
  if (result.empty()) throw InputError(path.string() + ": video holds no decodable frames");
  return result;
}

bool has_video_extension(const std::filesystem::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const char* known : {".mp4", ".avi", ".mkv", ".webm", ".mov", ".mpg", ".mpeg", ".m4v"}) {
    if (ext == known) return true;
  }
  return false;
}

}  // namespace recap::vision
