#include "recap/caption/pipeline.h"

#include <algorithm>
#include <set>

#include "recap/common/error.h"
#include "recap/common/progress.h"
#include "recap/common/rows.h"
#include "recap/data/media_index.h"
#include "recap/io/json_file.h"
#include "recap/io/npy.h"
#include "recap/io/provenance.h"

namespace fs = std::filesystem;

namespace recap::caption {
namespace {

std::vector<nlohmann::json> row_numbers_as_ids(std::int64_t rows) {
  std::vector<nlohmann::json> ids;
  for (std::int64_t i = 0; i < rows; ++i) ids.emplace_back(i);
  return ids;
}

std::vector<nlohmann::json> load_image_ids(const fs::path& path, std::int64_t expected_rows) {
  const nlohmann::json doc = io::read_json(path);
  if (!doc.is_array()) throw InputError(path.string() + ": expected a JSON array of image ids");
  std::vector<nlohmann::json> ids;
  std::set<std::string> seen;
  for (std::size_t i = 0; i < doc.size(); ++i) {
    nlohmann::json id = doc[i];
    if (id.is_object()) id = id.contains("image_id") ? id["image_id"] : id.contains("id") ? id["id"] : nlohmann::json();
    if (!id.is_number_integer() && !id.is_string())
      throw InputError(path.string() + ": entry " + std::to_string(i) + " is not an integer or string image id");
    if (!seen.insert(id.dump()).second)
      throw InputError(path.string() + ": image id " + id.dump() + " appears more than once");
    ids.push_back(id);
  }
  if (static_cast<std::int64_t>(ids.size()) != expected_rows)
    throw InputError(path.string() + ": has " + std::to_string(ids.size()) + " ids but the embeddings have " +
                     std::to_string(expected_rows) + " rows");
  return ids;
}

}  // namespace

CaptionInputs CaptionInputs::from_media(const fs::path& folder_or_list) {
  if (!fs::exists(folder_or_list)) throw InputError(folder_or_list.string() + ": no such file or directory");
  CaptionInputs in;
  in.source = folder_or_list;
  in.files = embed::list_media(folder_or_list);
  if (in.files.empty()) throw InputError(folder_or_list.string() + ": no images found");
  in.ids = data::image_ids_of_files(in.files, folder_or_list);
  return in;
}

CaptionInputs CaptionInputs::from_dataset(const fs::path& source, const data::Dataset& dataset) {
  CaptionInputs in;
  in.source = source;
  for (const auto& sample : dataset.samples) {
    in.files.push_back(sample.media);
    const bool number = !sample.id.empty() && sample.id.size() < 18 &&
                        sample.id.find_first_not_of("0123456789") == std::string::npos &&
                        (sample.id == "0" || sample.id[0] != '0');
    in.ids.push_back(number ? nlohmann::json(std::stoll(sample.id)) : nlohmann::json(sample.id));
  }
  if (in.files.empty()) throw InputError(source.string() + ": no images to caption");
  return in;
}

CaptionInputs CaptionInputs::from_embeddings(const fs::path& npy, const fs::path& ids_path) {
  CaptionInputs in;
  in.source = npy;
  in.embeddings = io::read_npy_matrix(npy);
  check_embedding_rows(in.embeddings, npy.string());
  if (in.embeddings.rows == 0) throw InputError(npy.string() + ": has no rows to caption");
  in.ids = ids_path.empty() ? row_numbers_as_ids(in.embeddings.rows) : load_image_ids(ids_path, in.embeddings.rows);
  return in;
}

Pipeline::Pipeline(const run::Run& run, const Captioner& captioner, const models::ClipModel* clip, PipelineOptions options)
    : run_(run), captioner_(captioner), clip_(clip), options_(std::move(options)) {
  if (options_.batch_size < 1) throw UsageError("the batch size must be at least 1");
}

void Pipeline::check_inputs(const CaptionInputs& inputs) const {
  if (!inputs.files.empty() && clip_ == nullptr) throw UsageError("captioning image files needs a CLIP model (--clip)");
  if (inputs.files.empty() && inputs.embeddings.cols != run_.image_dim())
    throw InputError(inputs.source.string() + ": embeddings have dimension " + std::to_string(inputs.embeddings.cols) +
                     " but the run's mapping expects " + std::to_string(run_.image_dim()));
}

nlohmann::json Pipeline::settings(const CaptionInputs& inputs, const retrieval::Datastore& store,
                                  const fs::path& ids_path) const {
  check_inputs(inputs);  // before a caller opens a resume log with these settings
  nlohmann::json layers = nlohmann::json::array(), layer_content = nlohmann::json::array();
  for (const auto& dir : store.layer_dirs()) {
    layers.push_back(fs::absolute(dir).string());
    layer_content.push_back(io::content_identity(dir));
  }
  const bool one_layer = layers.size() == 1;
  nlohmann::json s = captioner_.settings();
  s["run"] = fs::absolute(run_.dir()).string();
  s["datastore"] = one_layer ? layers[0] : layers;
  s["input"] = fs::absolute(inputs.source).string();
  s["images"] = inputs.size();
  if (!inputs.files.empty()) s["video_frames"] = options_.embed.video_frames;
  s["content"] = {{"mapping", run_.mapping_hash()},
                  {"datastore", one_layer ? layer_content[0] : layer_content},
                  {"input", io::content_identity(inputs.source)},
                  {"ids", io::content_identity(ids_path)},
                  {"clip", clip_ != nullptr ? nlohmann::json(clip_->info().fingerprint) : nlohmann::json()}};
  return s;
}

PipelineResult Pipeline::caption(const CaptionInputs& inputs, io::ResumeLog& log) const {
  check_inputs(inputs);
  const bool from_files = !inputs.files.empty();
  const std::int64_t total = inputs.size();
  std::vector<std::int64_t> pending;
  for (std::int64_t i = 0; i < total; ++i)
    if (log.find(inputs.ids[i]) == nullptr) pending.push_back(i);

  PipelineResult result;
  Progress progress(options_.progress_label, total, "images");
  std::int64_t done = total - static_cast<std::int64_t>(pending.size());
  progress.update(done);
  const auto batch_size = static_cast<std::size_t>(options_.batch_size);
  for (std::size_t first = 0, batch = 1; first < pending.size(); first += batch_size, ++batch) {
    const auto count = std::min(batch_size, pending.size() - first);
    std::vector<std::int64_t> positions(pending.begin() + first, pending.begin() + first + count);
    io::FloatMatrix x;
    if (from_files) {
      std::vector<fs::path> batch_files;
      for (auto p : positions) batch_files.push_back(inputs.files[p]);
      auto embedded = embed::embed_media(*clip_, batch_files, options_.embed);
      std::vector<std::int64_t> kept;
      for (auto idx : embedded.kept) kept.push_back(positions[idx]);
      result.skipped += static_cast<std::int64_t>(positions.size() - kept.size());
      positions = std::move(kept);
      x = std::move(embedded.embeddings);
    } else {
      x = io::FloatMatrix(static_cast<std::int64_t>(count), inputs.embeddings.cols);
      for (std::size_t r = 0; r < count; ++r)
        std::copy(inputs.embeddings.row(positions[r]), inputs.embeddings.row(positions[r]) + inputs.embeddings.cols,
                  x.row(static_cast<std::int64_t>(r)));
    }
    if (!positions.empty()) {
      CaptionBatch b;
      b.aligned = run_.align(std::move(x), inputs.source.string());
      b.positions = positions;
      for (auto p : positions) b.ids.push_back(inputs.ids[p]);
      if (options_.excluded_rows)
        for (const auto& id : b.ids) b.excluded.push_back(options_.excluded_rows(id));
      auto records = captioner_.caption(b);
      for (std::size_t r = 0; r < records.size(); ++r) {
        if (from_files) records[r]["file"] = inputs.files[positions[r]].string();
        log.add(records[r]);
      }
      log.sync();  // a crash from here on loses nothing of this batch
    }
    done += static_cast<std::int64_t>(count);
    progress.update(done);
    if (options_.stop_after_batches > 0 && static_cast<int>(batch) >= options_.stop_after_batches) {
      result.interrupted = true;
      return result;
    }
  }
  progress.finish();

  for (const auto& id : inputs.ids)
    if (const nlohmann::json* r = log.find(id)) result.records.push_back(*r);  // absent: unreadable, reported
  return result;
}

}  // namespace recap::caption
