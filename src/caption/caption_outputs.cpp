// The files a captioning run writes. Built in recap_models: the gallery's thumbnails are
// decoded with the vision library.
#include "recap/caption/gallery.h"
#include "recap/caption/pipeline.h"
#include "recap/common/error.h"
#include "recap/io/atomic_file.h"
#include "recap/io/json_file.h"
#include "recap/vision/thumbnail.h"

namespace recap::caption {

nlohmann::json coco_results(const std::vector<nlohmann::json>& records) {
  nlohmann::json results = nlohmann::json::array();
  for (const auto& r : records) results.push_back({{"image_id", r["image_id"]}, {"caption", r["caption"]}});
  return results;
}

void write_caption_outputs(const std::vector<nlohmann::json>& records, const CaptionOutputs& outputs) {
  if (!outputs.details.empty()) io::write_jsonl(outputs.details, records);
  if (!outputs.html.empty()) {
    const int size = outputs.thumbnail_size;
    const auto html = gallery_html(
        records,
        [size](const nlohmann::json& r) -> std::string {
          if (!r.contains("file")) return {};
          try {
            return vision::jpeg_thumbnail(r["file"].get<std::string>(), size);
          } catch (const Error&) {
            return {};  // a card without a picture rather than no gallery
          }
        },
        outputs.title);
    io::write_text_file(outputs.html, html);
  }
  if (!outputs.results.empty()) io::write_json(outputs.results, coco_results(records));
}

}  // namespace recap::caption
