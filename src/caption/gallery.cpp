#include "recap/caption/gallery.h"

#include <cstdio>

namespace recap::caption {

std::string html_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string base64(const std::string& bytes) {
  static const char* table = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(bytes[i]) << 16) | (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                       static_cast<unsigned char>(bytes[i + 2]);
    out += table[(v >> 18) & 63];
    out += table[(v >> 12) & 63];
    out += table[(v >> 6) & 63];
    out += table[v & 63];
  }
  if (i < bytes.size()) {
    unsigned v = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) v |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    out += table[(v >> 18) & 63];
    out += table[(v >> 12) & 63];
    out += i + 1 < bytes.size() ? table[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

namespace {

std::string number(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.4f", v);
  return buffer;
}

const char* kStyle = R"(
body{font-family:system-ui,sans-serif;margin:1.5em;background:#f6f6f4;color:#222}
header{display:flex;gap:1em;align-items:baseline;flex-wrap:wrap}
h1{font-size:1.3em;margin:0}
.card{display:flex;gap:1em;background:#fff;border:1px solid #ddd;border-radius:6px;padding:.8em;margin:.8em 0}
.card img{width:160px;height:auto;align-self:flex-start;border-radius:4px}
.noimg{width:160px;height:120px;background:#ddd;display:flex;align-items:center;justify-content:center;color:#777}
.caption{font-size:1.1em;font-weight:600}
.score{font-family:monospace;color:#555}
details{margin-top:.4em}
table{border-collapse:collapse;font-size:.9em}
td{padding:.1em .6em .1em 0;vertical-align:top}
tr.chosen td{font-weight:600;color:#063}
.id{color:#777;font-size:.85em}
)";

const char* kScript = R"(
function sortCards(order){
  const list=document.getElementById('cards');
  const cards=[...list.children];
  cards.sort((a,b)=>{
    if(order==='input') return a.dataset.order-b.dataset.order;
    const d=parseFloat(a.dataset.score)-parseFloat(b.dataset.score);
    return order==='asc'?d:-d;});
  cards.forEach(c=>list.appendChild(c));
}
// gallery.html#sort=desc opens sorted (links, and scripts/check_gallery.sh).
window.addEventListener('DOMContentLoaded',()=>{
  const m=location.hash.match(/sort=(input|asc|desc)/);
  if(m){document.getElementById('sort').value=m[1];sortCards(m[1]);}
});
)";

}  // namespace

std::string gallery_html(const std::vector<nlohmann::json>& records,
                         const std::function<std::string(const nlohmann::json&)>& thumbnail, const std::string& title) {
  std::string html = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + html_escape(title) +
                     "</title><style>" + kStyle + "</style><script>" + kScript + "</script></head><body>\n";
  html += "<header><h1>" + html_escape(title) + "</h1><span>" + std::to_string(records.size()) +
          " images</span><label>Sort by <select id=\"sort\" onchange=\"sortCards(this.value)\">"
          "<option value=\"input\">input order</option><option value=\"desc\">score, best first</option>"
          "<option value=\"asc\">score, worst first</option></select></label></header>\n<div id=\"cards\">\n";
  for (std::size_t i = 0; i < records.size(); ++i) {
    const auto& r = records[i];
    const double score = r.value("score", 0.0);
    html += "<div class=\"card\" data-order=\"" + std::to_string(i) + "\" data-score=\"" + number(score) + "\">";
    const std::string jpeg = thumbnail ? thumbnail(r) : std::string();
    if (!jpeg.empty()) {
      html += "<img alt=\"\" src=\"data:image/jpeg;base64," + base64(jpeg) + "\">";
    } else {
      html += "<div class=\"noimg\">no image</div>";
    }
    html += "<div><div class=\"caption\">" + html_escape(r.value("caption", std::string())) + "</div>";
    html += "<div class=\"score\">score " + number(score) + "</div>";
    html += "<div class=\"id\">" + html_escape(r["image_id"].is_string() ? r["image_id"].get<std::string>() : r["image_id"].dump());
    if (r.contains("file")) html += " &middot; " + html_escape(r["file"].get<std::string>());
    html += "</div>";
    if (r.contains("candidates")) {
      const auto chosen = r.value("chosen", -1);
      html += "<details open><summary>" + std::to_string(r["candidates"].size()) + " candidates</summary><table>";
      for (std::size_t c = 0; c < r["candidates"].size(); ++c) {
        const auto& cand = r["candidates"][c];
        html += std::string("<tr") + (static_cast<int>(c) == chosen ? " class=\"chosen\"" : "") + "><td class=\"score\">" +
                number(cand.value("score", 0.0)) + "</td><td>" + html_escape(cand.value("text", std::string())) +
                "</td><td class=\"id\">" + html_escape(cand.value("source", std::string())) + "</td></tr>";
      }
      html += "</table></details>";
    }
    if (r.contains("retrieved")) {
      html += "<details><summary>" + std::to_string(r["retrieved"].size()) + " retrieved captions</summary><table>";
      for (const auto& ret : r["retrieved"])
        html += "<tr><td class=\"score\">" + number(ret.value("similarity", 0.0)) + "</td><td>" +
                html_escape(ret.value("caption", std::string())) + "</td></tr>";
      html += "</table></details>";
    }
    html += "</div></div>\n";
  }
  html += "</div></body></html>\n";
  return html;
}

}  // namespace recap::caption
