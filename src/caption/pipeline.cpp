#include "recap/caption/pipeline.h"

#include <algorithm>
#include <optional>
#include <set>

#include "recap/common/error.h"
#include "recap/common/progress.h"
#include "recap/common/rows.h"
#include "recap/common/stopwatch.h"
#include "recap/data/captions.h"
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

bool CaptionInputs::in_shard(std::int64_t i) const {
  return shard.whole() || shard.contains(data::id_key(ids[static_cast<std::size_t>(i)]));
}

std::int64_t CaptionInputs::shard_size() const {
  std::int64_t n = 0;
  for (std::int64_t i = 0; i < size(); ++i) n += in_shard(i);
  return n;
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
  if (!inputs.shard.whole()) s["shard"] = inputs.shard.label();
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
  std::int64_t total = 0;
  std::vector<std::int64_t> pending;
  for (std::int64_t i = 0; i < inputs.size(); ++i) {
    if (!inputs.in_shard(i)) continue;
    ++total;
    if (log.find(inputs.ids[i]) == nullptr) pending.push_back(i);
  }
  if (total == 0)
    throw InputError(inputs.source.string() + ": shard " + inputs.shard.label() + " holds none of its " +
                     std::to_string(inputs.size()) + " images; use fewer shards");

  PipelineResult result;
  Progress progress(options_.progress_label, total, "images");
  std::int64_t done = total - static_cast<std::int64_t>(pending.size());
  progress.update(done);
  // The datastore is searched once per chunk of many captioning batches: each search reads
  // the whole datastore, so searching per batch of 16 would reread it for every 16 images.
  const auto batch_size = static_cast<std::size_t>(options_.batch_size);
  const std::size_t chunk_size = batch_size * std::max<std::size_t>(1, kSearchChunk / batch_size);
  int batch = 0;
  for (std::size_t first = 0; first < pending.size(); first += chunk_size) {
    const std::vector<std::int64_t> chunk(pending.begin() + first,
                                          pending.begin() + std::min(pending.size(), first + chunk_size));
    Stopwatch clock;
    CaptionBatch all = aligned_rows(inputs, chunk, result.skipped);
    if (!inputs.files.empty()) result.phases.add("embed images", clock.seconds());
    clock.restart();
    all.retrieved = captioner_.retrieve(all);
    result.phases.add("search", clock.seconds());
    // Captioned and saved batch by batch, in input order.
    std::size_t row = 0;
    for (std::size_t at = 0; at < chunk.size(); at += batch_size) {
      const std::size_t end = std::min(chunk.size(), at + batch_size);
      const CaptionBatch b = rows_of(all, row, chunk[end - 1]);
      row += b.positions.size();
      if (!b.positions.empty()) {
        clock.restart();
        auto records = captioner_.caption(b);
        result.phases.add("caption", clock.seconds());
        for (std::size_t r = 0; r < records.size(); ++r) {
          if (!inputs.files.empty()) records[r]["file"] = inputs.files[b.positions[r]].string();
          log.add(records[r]);
        }
        log.sync();  // a crash from here on loses nothing of this batch
      }
      done += static_cast<std::int64_t>(end - at);
      progress.update(done);
      if (options_.stop_after_batches > 0 && ++batch >= options_.stop_after_batches) {
        result.interrupted = true;
        return result;
      }
    }
  }
  progress.finish();
  result.caption_phases = captioner_.phase_times();

  for (std::int64_t i = 0; i < inputs.size(); ++i)
    if (inputs.in_shard(i))
      if (const nlohmann::json* r = log.find(inputs.ids[i])) result.records.push_back(*r);  // absent: unreadable, reported
  return result;
}

CaptionBatch Pipeline::aligned_rows(const CaptionInputs& inputs, const std::vector<std::int64_t>& chunk,
                                    std::int64_t& skipped) const {
  CaptionBatch all;
  io::FloatMatrix x;
  if (!inputs.files.empty()) {
    std::vector<fs::path> files;
    for (auto p : chunk) files.push_back(inputs.files[p]);
    // Embedding a chunk takes a while on a CPU: it shows its own progress.
    embed::EmbedOptions embed = options_.embed;
    std::optional<Progress> embedding;
    if (!embed.progress && files.size() > static_cast<std::size_t>(options_.batch_size)) {
      embedding.emplace("embedding", static_cast<std::int64_t>(files.size()), "images");
      embed.progress = [&embedding](std::int64_t done, std::int64_t) { embedding->update(done); };
    }
    auto embedded = embed::embed_media(*clip_, files, embed);
    if (embedding) embedding->finish();
    for (auto idx : embedded.kept) all.positions.push_back(chunk[idx]);
    skipped += static_cast<std::int64_t>(chunk.size() - embedded.kept.size());
    x = std::move(embedded.embeddings);
  } else {
    all.positions = chunk;
    x = io::FloatMatrix(static_cast<std::int64_t>(chunk.size()), inputs.embeddings.cols);
    for (std::size_t r = 0; r < chunk.size(); ++r)
      std::copy(inputs.embeddings.row(chunk[r]), inputs.embeddings.row(chunk[r]) + inputs.embeddings.cols,
                x.row(static_cast<std::int64_t>(r)));
  }
  all.aligned = x.rows > 0 ? run_.align(std::move(x), inputs.source.string()) : io::FloatMatrix(0, run_.text_dim());
  for (auto p : all.positions) all.ids.push_back(inputs.ids[p]);
  if (options_.excluded_rows)
    for (const auto& id : all.ids) all.excluded.push_back(options_.excluded_rows(id));
  return all;
}

// The rows of `all` from `first` whose positions are at most `last_position` (the rows
// of one captioning batch; unreadable files have no row).
CaptionBatch Pipeline::rows_of(const CaptionBatch& all, std::size_t first, std::int64_t last_position) {
  std::size_t end = first;
  while (end < all.positions.size() && all.positions[end] <= last_position) ++end;
  CaptionBatch b;
  const auto n = static_cast<std::int64_t>(end - first), d = all.aligned.cols;
  b.aligned = io::FloatMatrix(n, d);
  std::copy(all.aligned.row(static_cast<std::int64_t>(first)), all.aligned.row(static_cast<std::int64_t>(first)) + n * d,
            b.aligned.row(0));
  b.positions.assign(all.positions.begin() + first, all.positions.begin() + end);
  b.ids.assign(all.ids.begin() + first, all.ids.begin() + end);
  if (!all.excluded.empty()) b.excluded.assign(all.excluded.begin() + first, all.excluded.begin() + end);
  b.retrieved.assign(all.retrieved.begin() + first, all.retrieved.begin() + end);
  return b;
}

}  // namespace recap::caption
