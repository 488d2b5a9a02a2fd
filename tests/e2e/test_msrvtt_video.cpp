// MSR-VTT end to end on videos written here with OpenCV's VideoWriter: recap-embed samples
// the frames np.linspace(0, frames - 1, N).astype(int) picks and mean-pools their
// embeddings; recap-fit and recap-caption read MSRVTT_data.json; a video that cannot be
// decoded is skipped with a count (an error with recap-fit --strict).
#include <gtest/gtest.h>

#include "clip_tools_support.h"
#include "fake_datasets.h"
#include "recap/io/json_file.h"
#include "recap/io/npy.h"

namespace fs = std::filesystem;
using namespace recap;
using test::quoted;

namespace {

// Every frame of a video, decoded in order.
std::vector<cv::Mat> decode_all(const fs::path& path) {
  cv::VideoCapture capture(path.string());
  std::vector<cv::Mat> frames;
  for (cv::Mat frame; capture.read(frame);) frames.push_back(frame.clone());
  return frames;
}

// The mean of the rows of `m` listed in `rows`.
std::vector<double> mean_of(const io::FloatMatrix& m, const std::vector<int>& rows) {
  std::vector<double> mean(static_cast<std::size_t>(m.cols), 0.0);
  for (int r : rows)
    for (std::int64_t c = 0; c < m.cols; ++c) mean[static_cast<std::size_t>(c)] += m.row(r)[c] / rows.size();
  return mean;
}

double max_difference(const std::vector<double>& a, const float* b) {
  double worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::fabs(a[i] - b[i]));
  return worst;
}

}  // namespace

TEST(MsrvttVideo, EmbeddingIsTheMeanOfTheUniformlySampledFrames) {
  test::TempDir dir;
  test::write_video(dir / "video/video0.mp4", 2, 10);
  const auto frames = decode_all(dir / "video/video0.mp4");
  ASSERT_EQ(frames.size(), 10u) << "OpenCV could not read back the video it wrote";
  const std::string clip = " --clip " + quoted(test::tiny_clip()) + " --no-cache --threads 2";
  auto video = test::run_tool("recap-embed", "--images " + quoted(dir / "video") + " --video-frames 8 --out " +
                                                 quoted(dir / "video.npy") + clip);
  ASSERT_EQ(video.status, 0) << video.err;
  // Every frame of the whole video, as images: the test picks the frames, not recap.
  fs::create_directories(dir / "frames");
  for (int f = 0; f < 10; ++f) cv::imwrite((dir / "frames" / ("frame" + std::to_string(f) + ".png")).string(), frames[f]);
  auto stills = test::run_tool("recap-embed", "--images " + quoted(dir / "frames") + " --out " + quoted(dir / "frames.npy") + clip);
  ASSERT_EQ(stills.status, 0) << stills.err;
  const auto v = io::read_npy_matrix(dir / "video.npy"), f = io::read_npy_matrix(dir / "frames.npy");
  ASSERT_EQ(v.rows, 1);
  ASSERT_EQ(f.rows, 10);  // frame0 .. frame9 sort as 0..9

  // np.linspace(0, 9, 8).astype(int) == [0, 1, 2, 3, 5, 6, 7, 9]
  EXPECT_LT(max_difference(mean_of(f, {0, 1, 2, 3, 5, 6, 7, 9}), v.row(0)), 1e-5);
  // Rounding instead of truncating would pick [0, 1, 3, 4, 5, 6, 8, 9]: a different mean,
  // so the check above does tell the frame indices apart.
  EXPECT_GT(max_difference(mean_of(f, {0, 1, 3, 4, 5, 6, 8, 9}), v.row(0)), 1e-3);
  // Four frames: [0, 3, 6, 9].
  auto four = test::run_tool("recap-embed", "--images " + quoted(dir / "video") + " --video-frames 4 --out " +
                                                quoted(dir / "video4.npy") + clip);
  ASSERT_EQ(four.status, 0) << four.err;
  EXPECT_LT(max_difference(mean_of(f, {0, 3, 6, 9}), io::read_npy_matrix(dir / "video4.npy").row(0)), 1e-5);
}

TEST(MsrvttVideo, DatasetThroughFitAndCaptionSkipsACorruptVideoWithACount) {
  test::TempDir dir;
  nlohmann::json videos = nlohmann::json::array(), sentences = nlohmann::json::array();
  const std::vector<std::pair<std::string, std::string>> split_of = {
      {"video0", "train"}, {"video1", "train"}, {"video2", "train"}, {"video7010", "test"}, {"video7011", "test"}};
  int index = 0;
  for (const auto& [id, split] : split_of) {
    test::write_video(dir / "videos" / (id + ".mp4"), index, 6);
    videos.push_back({{"video_id", id}, {"split", split}});
    for (const auto& c : test::scene_captions(index)) sentences.push_back({{"video_id", id}, {"caption", c}});
    ++index;
  }
  test::write_json_file(dir / "MSRVTT_data.json", {{"videos", videos}, {"sentences", sentences}});
  test::write_bytes(dir / "videos/video7011.mp4", "not a video at all");
  const std::string clip = " --clip " + quoted(test::tiny_clip()) + " --cache " + quoted(dir / "cache");

  auto fit = test::run_tool("recap-fit", "--dataset " + quoted(dir / "MSRVTT_data.json") + " --images " +
                                             quoted(dir / "videos") + " --split train --out " + quoted(dir / "run") + clip);
  ASSERT_EQ(fit.status, 0) << fit.err;
  const auto run = io::read_json(dir / "run/run.json");
  EXPECT_NE(run.dump().find("\"format\":\"msrvtt\""), std::string::npos) << run.dump();
  EXPECT_EQ(io::read_jsonl(dir / "run/datastore/captions.jsonl").size(), 9u);

  auto caption = test::run_tool("recap-caption", "--run " + quoted(dir / "run") + " --dataset " +
                                                     quoted(dir / "MSRVTT_data.json") + " --images " + quoted(dir / "videos") +
                                                     " --split test --out " + quoted(dir / "results.json") + clip);
  ASSERT_EQ(caption.status, 0) << caption.err;
  EXPECT_NE(caption.out.find("1 unreadable images skipped"), std::string::npos) << caption.out;
  EXPECT_NE(caption.err.find("video7011.mp4"), std::string::npos) << caption.err;
  const auto results = io::read_json(dir / "results.json");
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0]["image_id"], "video7010");

  // Scored against the same file's references.
  auto score = test::run_tool("recap-score", "--results " + quoted(dir / "results.json") + " --refs " +
                                                 quoted(dir / "MSRVTT_data.json") + " --split test --metrics bleu,cider");
  EXPECT_EQ(score.status, 0) << score.err;
  EXPECT_NE(score.err.find("1 of 2 reference images have no result"), std::string::npos) << score.err;

  // In a training split, the corrupt video is counted; with --strict it is an error.
  auto counted = test::run_tool("recap-fit", "--dataset " + quoted(dir / "MSRVTT_data.json") + " --images " +
                                                 quoted(dir / "videos") + " --split test --out " + quoted(dir / "run2") + clip);
  ASSERT_EQ(counted.status, 0) << counted.err;
  EXPECT_NE(io::read_json(dir / "run2/run.json").dump().find("\"unreadable_images\":1"), std::string::npos);
  auto strict = test::run_tool("recap-fit", "--dataset " + quoted(dir / "MSRVTT_data.json") + " --images " +
                                                quoted(dir / "videos") + " --split test --strict --out " + quoted(dir / "run3") + clip);
  EXPECT_EQ(strict.status, 3) << strict.err;
  EXPECT_NE(strict.err.find("video7011.mp4"), std::string::npos) << strict.err;
  EXPECT_FALSE(fs::exists(dir / "run3"));
}
