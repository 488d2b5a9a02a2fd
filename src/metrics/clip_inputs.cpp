#include "recap/metrics/clip_inputs.h"

#include <algorithm>
#include <map>

#include "recap/common/error.h"
#include "recap/common/rows.h"
#include "recap/data/media_index.h"
#include "recap/io/json_file.h"
#include "recap/io/npy.h"
#include "recap/io/temp_dir.h"

namespace fs = std::filesystem;

namespace recap::metrics {
namespace {

// Rows of an embedding file, checked against the count they must have.
io::FloatMatrix embeddings(const std::string& path, std::int64_t rows, const std::string& what) {
  io::FloatMatrix m = io::read_npy_matrix(path);
  check_embedding_rows(m, path);
  if (rows >= 0 && m.rows != rows)
    throw InputError(path + ": has " + std::to_string(m.rows) + " rows but there are " + std::to_string(rows) + " " + what);
  return m;
}

io::FloatMatrix select_rows(const io::FloatMatrix& m, std::int64_t first, std::int64_t count) {
  io::FloatMatrix out(count, m.cols);
  std::copy(m.row(first), m.row(first) + count * m.cols, out.row(0));
  return out;
}

bool blank(const std::string& text) { return text.find_first_not_of(" \t\n\r\f\v") == std::string::npos; }

}  // namespace

ClipEmbeddings read_clip_embeddings(const ClipEmbeddingFiles& f, const std::vector<data::CaptionResult>& results,
                                    const data::ReferenceSet& refs, bool with_refs) {
  ClipEmbeddings e;
  e.candidates = embeddings(f.candidate_embeddings, static_cast<std::int64_t>(results.size()), "results");
  const io::FloatMatrix image_rows = embeddings(f.image_embeddings, -1, "");
  // Image embedding rows in results order.
  std::map<std::string, std::int64_t> row_of;
  if (f.image_ids.empty()) {
    if (image_rows.rows != static_cast<std::int64_t>(results.size()))
      throw InputError(f.image_embeddings + ": has " + std::to_string(image_rows.rows) + " rows but there are " +
                       std::to_string(results.size()) + " results; pass --image-ids");
    for (std::size_t i = 0; i < results.size(); ++i) row_of[results[i].key] = static_cast<std::int64_t>(i);
  } else {
    const auto ids = io::read_json(f.image_ids);
    if (!ids.is_array() || static_cast<std::int64_t>(ids.size()) != image_rows.rows)
      throw InputError(f.image_ids + ": must list one image id per row of " + f.image_embeddings);
    for (std::size_t i = 0; i < ids.size(); ++i) row_of[data::id_key(ids[i])] = static_cast<std::int64_t>(i);
  }
  e.images = io::FloatMatrix(static_cast<std::int64_t>(results.size()), image_rows.cols);
  for (std::size_t i = 0; i < results.size(); ++i) {
    auto it = row_of.find(results[i].key);
    if (it == row_of.end()) throw InputError(f.image_ids + ": has no embedding row for image " + results[i].key);
    std::copy(image_rows.row(it->second), image_rows.row(it->second) + image_rows.cols,
              e.images.row(static_cast<std::int64_t>(i)));
  }
  if (with_refs) {
    e.references = embeddings(f.reference_embeddings, static_cast<std::int64_t>(refs.row_image.size()),
                              "reference captions in " + f.refs_path);
    std::map<std::string, std::vector<std::int64_t>> by_image;
    for (std::size_t r = 0; r < refs.row_image.size(); ++r)
      by_image[refs.row_image[r]].push_back(static_cast<std::int64_t>(r));
    for (const auto& res : results) e.reference_rows.push_back(by_image[res.key]);
  }
  return e;
}

ClipEmbeddings embed_for_clip_scores(const ClipModelSource& source, const std::vector<data::CaptionResult>& results,
                                     const data::ReferenceSet& refs, bool with_refs) {
  // Every result's image first: a missing file should not cost an embedding run.
  const auto index = data::MediaIndex::open(source.images);
  std::vector<fs::path> files;
  std::vector<std::string> missing;
  for (const auto& r : results) {
    const auto file = index.find(r.key);
    std::error_code ec;
    if (!file || !fs::is_regular_file(*file, ec))
      missing.push_back(file ? r.key + " (" + file->string() + " does not exist)" : r.key);
    else
      files.push_back(*file);
  }
  if (!missing.empty())
    throw InputError(source.images + ": no image file for " + std::to_string(missing.size()) + " of " +
                     std::to_string(results.size()) + " results (first: image " + missing.front() +
                     "; a file answers to its stem, or to the number in COCO_<split>2014_<12 digits>)");

  // Candidates, then the references of the scored images, in one recap-embed run.
  std::vector<std::string> texts;
  for (const auto& r : results) texts.push_back(r.caption);
  ClipEmbeddings e;
  if (with_refs)
    for (const auto& r : results) {
      auto& rows = e.reference_rows.emplace_back();
      for (const auto& caption : refs.captions.at(r.key)) {
        rows.push_back(static_cast<std::int64_t>(texts.size() - results.size()));
        texts.push_back(caption);
      }
    }
  if (source.prefix.empty())  // recap-embed refuses an empty line; clipscore's prefix avoids one
    for (std::size_t t = 0; t < texts.size(); ++t)
      if (blank(texts[t]))
        throw InputError((t < results.size() ? "the result for image " + results[t].key : std::string("a reference")) +
                         " is empty and cannot be embedded without --prefix");

  embed::EmbedSettings settings = source.embed;
  settings.strict = true;
  embed::EmbedSubprocess embedder(settings);
  const io::TemporaryDirectory scratch("recap-score");
  e.images = io::read_npy_matrix(embedder.embed_images(files, scratch.path(), true).embeddings);
  const io::FloatMatrix text_rows = io::read_npy_matrix(embedder.embed_texts(texts, source.prefix, scratch.path(), true));
  const auto n = static_cast<std::int64_t>(results.size());
  e.candidates = select_rows(text_rows, 0, n);
  e.references = select_rows(text_rows, n, text_rows.rows - n);
  return e;
}

}  // namespace recap::metrics
