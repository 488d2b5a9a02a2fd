#pragma once
// A self-contained HTML page of captioning results: one card per image with its thumbnail
// (embedded as a data: URI), the chosen caption and score, the candidates with their
// scores, and the retrieved captions; a control sorts the cards by score. No external
// resources, so the file can be mailed or archived as is.
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace recap::caption {

// `records`: the per-image JSON of --details ("image_id", "caption", "score", "retrieved",
// optionally "candidates", "file"). `thumbnail(record)` returns JPEG bytes or "" for none.
std::string gallery_html(const std::vector<nlohmann::json>& records,
                         const std::function<std::string(const nlohmann::json&)>& thumbnail, const std::string& title);

std::string html_escape(const std::string& text);
std::string base64(const std::string& bytes);

}  // namespace recap::caption
