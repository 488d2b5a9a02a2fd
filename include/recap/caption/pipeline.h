#pragma once
// The captioning loop around a captioner: inputs (image files embedded batch by batch,
// or precomputed embeddings) -> aligned embeddings (run::Run::align) -> the captioner ->
// records, appended to a resume log after every batch so that an interrupted run
// continues where it stopped. recap-caption and recap-dal both caption through it.
// Built in recap_models (it embeds images with CLIP); no torch types here.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "recap/caption/captioner.h"
#include "recap/common/shard.h"
#include "recap/data/dataset.h"
#include "recap/embed/embed_pipeline.h"
#include "recap/io/matrix.h"
#include "recap/io/resume_log.h"
#include "recap/models/clip_model.h"
#include "recap/run/run.h"

namespace recap::caption {

// The images to caption: files to embed, or rows of precomputed embeddings; each with an id.
struct CaptionInputs {
  std::filesystem::path source;               // the folder, list or .npy they came from
  std::vector<std::filesystem::path> files;   // empty for precomputed embeddings
  io::FloatMatrix embeddings;                 // rows, when there are no files
  std::vector<nlohmann::json> ids;
  // Only the inputs whose id hashes to this shard are captioned. The others stay in the
  // list, so every image keeps its position, which seeds its samples: a shard's captions
  // are the ones the whole run gives those images.
  Shard shard;

  // Images and videos in a folder (recursively, sorted) or a list file; ids as
  // data::image_ids_of_files names them. InputError when there are none.
  static CaptionInputs from_media(const std::filesystem::path& folder_or_list);
  // The media of a dataset's samples (data::read_dataset), with the dataset's ids
  // (integers where an id is a number, as COCO results write them).
  static CaptionInputs from_dataset(const std::filesystem::path& source, const data::Dataset& dataset);
  // Rows of an .npy; ids from `ids_path` (a JSON array, or COCO-style objects with
  // "image_id"/"id"), or the row numbers when it is empty.
  static CaptionInputs from_embeddings(const std::filesystem::path& npy, const std::filesystem::path& ids_path = {});

  std::int64_t size() const { return static_cast<std::int64_t>(ids.size()); }
  bool in_shard(std::int64_t i) const;
  std::int64_t shard_size() const;  // the inputs this run captions
};

struct PipelineOptions {
  int batch_size = 16;            // images per batch; the log is synced after each
  int stop_after_batches = 0;     // testing: stop (result.interrupted) after this many batches
  embed::EmbedOptions embed;      // how files are embedded (cache, workers, warnings)
  // Datastore rows an image must not retrieve, by its id (recap-dal); unset: none.
  std::function<std::vector<std::int64_t>(const nlohmann::json& id)> excluded_rows;
  std::string progress_label = "captioning";
};

struct PipelineResult {
  std::vector<nlohmann::json> records;  // in input order; "file" added for file inputs
  std::int64_t skipped = 0;             // unreadable files, left out
  bool interrupted = false;             // stop_after_batches reached: rerun to resume
  PhaseTimes phases;                    // embedding images, searching, captioning
  PhaseTimes caption_phases;            // within captioning: the captioner's own phases, if it has any
  // "embed images 0.41 s, search 0.30 s, caption 12.10 s (generate 8.10 s, score candidates 2.40 s)"
  std::string describe_times() const {
    return phases.describe() + (caption_phases.empty() ? "" : " (" + caption_phases.describe() + ")");
  }
};

class Pipeline {
 public:
  // `clip` embeds file inputs (may be null for precomputed embeddings). All referenced
  // objects must outlive the pipeline.
  Pipeline(const run::Run& run, const Captioner& captioner, const models::ClipModel* clip, PipelineOptions options);

  // What decides the captions of `inputs`: the run (path and W's content), the datastore
  // (each layer's path and content), the inputs, the CLIP model and the captioner's
  // settings. A resume log continues only under equal settings; callers add their own
  // (the language model, the device).
  nlohmann::json settings(const CaptionInputs& inputs, const retrieval::Datastore& store,
                          const std::filesystem::path& ids_path = {}) const;

  // Captions every input not yet in `log`, batch by batch, and returns every record in
  // input order (the resumed ones too).
  PipelineResult caption(const CaptionInputs& inputs, io::ResumeLog& log) const;

 private:
  // Images searched at once: a search reads the whole datastore (1.2 GB for COCO at
  // d = 512), so it is amortised over many captioning batches. 8,192 aligned rows at
  // d = 768 are 25 MB.
  static constexpr std::size_t kSearchChunk = 8192;

  void check_inputs(const CaptionInputs& inputs) const;
  // The aligned embeddings (and ids, exclusions) of the inputs at `chunk`; unreadable
  // files are left out and counted in `skipped`.
  CaptionBatch aligned_rows(const CaptionInputs& inputs, const std::vector<std::int64_t>& chunk,
                            std::int64_t& skipped) const;
  static CaptionBatch rows_of(const CaptionBatch& all, std::size_t first, std::int64_t last_position);

  const run::Run& run_;
  const Captioner& captioner_;
  const models::ClipModel* clip_;
  PipelineOptions options_;
};

// COCO results [{"image_id", "caption"}] of records.
nlohmann::json coco_results(const std::vector<nlohmann::json>& records);

// Where a captioning run's results go; empty paths are not written.
struct CaptionOutputs {
  std::filesystem::path results;  // COCO results JSON
  std::filesystem::path details;  // JSONL, one record per image
  std::filesystem::path html;     // self-contained gallery with thumbnails of file inputs
  int thumbnail_size = 192;
  std::string title;
};
void write_caption_outputs(const std::vector<nlohmann::json>& records, const CaptionOutputs& outputs);

}  // namespace recap::caption
