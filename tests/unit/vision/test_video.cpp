// Uniform frame sampling on a video the test writes itself (MJPEG in AVI: OpenCV's
// built-in encoder, no external codec needed).
#include <gtest/gtest.h>

#include <opencv2/core.hpp>
#include <opencv2/videoio.hpp>

#include "recap/common/error.h"
#include "recap/vision/video.h"
#include "test_support.h"

using namespace recap::vision;

namespace {

// Frame i is uniformly grey with value 20 * i.
std::filesystem::path write_video(const recap::test::TempDir& dir, int frames) {
  const auto path = dir / "clip.avi";
  cv::VideoWriter writer(path.string(), cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), 10.0, cv::Size(64, 48));
  EXPECT_TRUE(writer.isOpened());
  for (int i = 0; i < frames; ++i) writer.write(cv::Mat(48, 64, CV_8UC3, cv::Scalar::all(20 * i)));
  writer.release();
  return path;
}

double mean_value(const DecodedImage& image) {
  double sum = 0;
  for (auto v : image.pixels) sum += v;
  return sum / image.pixels.size();
}

}  // namespace

TEST(Video, SamplesFramesAsLinspace) {
  recap::test::TempDir dir;
  const auto path = write_video(dir, 10);
  // np.linspace(0, 9, 4).astype(int) == [0, 3, 6, 9]
  const auto frames = sample_video_frames(path, 4);
  ASSERT_EQ(frames.size(), 4u);
  const int expected[] = {0, 3, 6, 9};
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(frames[i].width, 64);
    EXPECT_EQ(frames[i].channels, 3);
    EXPECT_NEAR(mean_value(frames[i]), 20 * expected[i], 3.0) << "frame " << i;
  }
  // More frames asked than the video has: every frame once.
  EXPECT_EQ(sample_video_frames(path, 50).size(), 10u);
}

TEST(Video, BadVideosAreErrors) {
  recap::test::TempDir dir;
  recap::test::write_bytes(dir / "fake.mp4", "not a video");
  EXPECT_THROW(sample_video_frames(dir / "fake.mp4", 4), recap::InputError);
  EXPECT_THROW(sample_video_frames(dir / "missing.mp4", 4), recap::InputError);
  EXPECT_THROW(sample_video_frames(write_video(dir, 3), 0), recap::UsageError);
}
