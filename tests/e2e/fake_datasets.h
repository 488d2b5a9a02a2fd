#pragma once
// Tiny datasets in the real layouts (COCO Karpathy, Flickr30k, VizWiz, MSR-VTT, Flickr8k),
// with pictures and videos the tests draw with OpenCV, for the end-to-end tests of the
// readers through the tools and of scripts/reproduce.sh.
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "test_support.h"

namespace recap::test {

// Colours and shapes that the captions name, so that captions and pictures agree.
struct Scene {
  const char* colour_name;
  cv::Scalar bgr;
  const char* shape;
};
inline const std::vector<Scene>& scenes() {
  static const std::vector<Scene> all = {
      {"red", {40, 40, 220}, "circle"},   {"green", {40, 200, 40}, "square"}, {"blue", {220, 60, 40}, "circle"},
      {"yellow", {40, 220, 230}, "square"}, {"white", {235, 235, 235}, "circle"}, {"purple", {180, 40, 150}, "square"}};
  return all;
}

inline cv::Mat draw_scene(int index, int size = 64) {
  const auto& s = scenes()[static_cast<std::size_t>(index) % scenes().size()];
  cv::Mat image(size, size, CV_8UC3, cv::Scalar(30 + 7 * index, 60, 90));
  if (std::string(s.shape) == "circle")
    cv::circle(image, {size / 2, size / 2}, size / 3, s.bgr, cv::FILLED);
  else
    cv::rectangle(image, {size / 5, size / 5}, {4 * size / 5, 4 * size / 5}, s.bgr, cv::FILLED);
  return image;
}

inline std::vector<std::string> scene_captions(int index) {
  const auto& s = scenes()[static_cast<std::size_t>(index) % scenes().size()];
  const std::string colour = s.colour_name, shape = s.shape;
  return {"a " + colour + " " + shape, "a picture of a " + colour + " " + shape, "one " + colour + " " + shape + " in the middle"};
}

inline void write_image(const std::filesystem::path& path, int index) {
  std::filesystem::create_directories(path.parent_path());
  cv::imwrite(path.string(), draw_scene(index));
}

// An MPEG-4 video (as MSR-VTT has: .mp4, through FFmpeg) whose frame f shows scene `index` brightened by 12 * f, so that every frame differs.
inline void write_video(const std::filesystem::path& path, int index, int frames = 10) {
  std::filesystem::create_directories(path.parent_path());
  cv::VideoWriter writer(path.string(), cv::VideoWriter::fourcc('m', 'p', '4', 'v'), 10.0, cv::Size(64, 64));
  for (int f = 0; f < frames; ++f) writer.write(draw_scene(index) + cv::Scalar::all(12 * f));
  writer.release();
}

inline void write_json_file(const std::filesystem::path& path, const nlohmann::json& doc) {
  std::filesystem::create_directories(path.parent_path());
  write_bytes(path, doc.dump(1));
}

// A Karpathy split file over `root`/<folder>/<name>.jpg: splits[i] is image i's split.
inline nlohmann::json karpathy(const std::filesystem::path& root, const std::string& folder, const std::vector<std::string>& splits,
                               bool coco_ids) {
  nlohmann::json images = nlohmann::json::array();
  for (std::size_t i = 0; i < splits.size(); ++i) {
    const int index = static_cast<int>(i);
    const std::string name = coco_ids ? "COCO_val2014_" + std::string(12 - std::to_string(100 + i).size(), '0') +
                                            std::to_string(100 + i) + ".jpg"
                                      : std::to_string(5000 + i) + ".jpg";
    write_image(root / folder / name, index);
    nlohmann::json sentences = nlohmann::json::array();
    for (const auto& c : scene_captions(index)) sentences.push_back({{"raw", c}});
    nlohmann::json image = {{"split", splits[i]}, {"filename", name}, {"sentences", sentences}};
    if (coco_ids) {
      image["filepath"] = folder;
      image["cocoid"] = 100 + i;
    }
    images.push_back(image);
  }
  return {{"images", images}, {"dataset", coco_ids ? "coco" : "flickr30k"}};
}

}  // namespace recap::test
