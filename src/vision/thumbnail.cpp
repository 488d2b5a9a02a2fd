#include "recap/vision/thumbnail.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>

#include "recap/common/error.h"
#include "recap/vision/image.h"

namespace recap::vision {

std::string jpeg_thumbnail(const std::filesystem::path& path, int max_side, int quality) {
  const DecodedImage image = read_image(path);  // PIL's view: RGB order, no EXIF rotation
  const int type = image.channels == 1 ? CV_8UC1 : image.channels == 3 ? CV_8UC3 : CV_8UC4;
  cv::Mat src(image.height, image.width, type, const_cast<std::uint8_t*>(image.pixels.data()));
  cv::Mat bgr;
  if (image.channels == 1) cv::cvtColor(src, bgr, cv::COLOR_GRAY2BGR);
  else if (image.channels == 3) cv::cvtColor(src, bgr, cv::COLOR_RGB2BGR);
  else cv::cvtColor(src, bgr, cv::COLOR_RGBA2BGR);
  const double scale = std::min(1.0, static_cast<double>(max_side) / std::max(image.width, image.height));
  if (scale < 1.0) {
    cv::Mat small;
    cv::resize(bgr, small, cv::Size(std::max(1, static_cast<int>(image.width * scale + 0.5)),
                                    std::max(1, static_cast<int>(image.height * scale + 0.5))),
               0, 0, cv::INTER_AREA);
    bgr = small;
  }
  std::vector<unsigned char> bytes;
  if (!cv::imencode(".jpg", bgr, bytes, {cv::IMWRITE_JPEG_QUALITY, quality})) {
    throw InputError(path.string() + ": cannot encode a thumbnail");
  }
  return std::string(bytes.begin(), bytes.end());
}

}  // namespace recap::vision
