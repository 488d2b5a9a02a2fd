#include "recap/dal/dal.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <memory>
#include <numeric>
#include <optional>
#include <sstream>

#include "recap/caption/pipeline.h"
#include "recap/caption/retrieval_captioner.h"
#include "recap/common/error.h"
#include "recap/common/messages.h"
#include "recap/io/json_file.h"
#include "recap/io/npy.h"
#include "recap/io/resume_log.h"
#include "recap/vision/chart.h"

namespace fs = std::filesystem;

namespace recap::dal {
namespace {

// The report name a metric selects by: bleu by Bleu_4, the others by their one score.
std::string selection_score_name(const std::string& metric) { return metrics::score_names(metric).back(); }

io::FloatMatrix embed_texts(const models::ClipModel& clip, const std::vector<std::string>& texts, const std::string& prefix) {
  std::vector<std::string> prefixed;
  for (const auto& t : texts) prefixed.push_back(prefix + t);
  embed::EmbedOptions o;
  o.normalize = true;
  o.use_cache = false;  // one-off texts
  return embed::embed_texts(clip, prefixed, o);
}

io::FloatMatrix rows_of(const io::FloatMatrix& m, const std::vector<std::int64_t>& rows) {
  io::FloatMatrix out(static_cast<std::int64_t>(rows.size()), m.cols);
  for (std::size_t i = 0; i < rows.size(); ++i) std::copy(m.row(rows[i]), m.row(rows[i]) + m.cols, out.row(static_cast<std::int64_t>(i)));
  return out;
}

// Scores on a set of (candidate, references, image row) triples, by `wanted`.
metrics::Scores score_set(const metrics::MetricSet& wanted, const std::vector<std::string>& candidates,
                          const std::vector<std::vector<std::string>>& references, const io::FloatMatrix& images,
                          const std::vector<std::int64_t>& image_rows, const run::Run& run,
                          const models::ClipModel& clip, const Options& options) {
  std::vector<metrics::ImageCaptions> pairs;
  for (std::size_t i = 0; i < candidates.size(); ++i) pairs.push_back({candidates[i], references[i]});
  metrics::ptb_tokenize_captions(pairs);
  metrics::ScoringInputs in;
  in.images = &pairs;
  for (std::size_t i = 0; i < candidates.size(); ++i) in.image_names.push_back(std::to_string(i));
  in.meteor = options.meteor;
  in.spice = options.spice;
  metrics::ClipEmbeddings e;
  io::FloatMatrix aligned;
  if (wanted.needs_clip()) {
    e.images = rows_of(images, image_rows);
    e.candidates = embed_texts(clip, candidates, options.prefix);
    if (wanted.needs_references_embedded()) {
      std::vector<std::string> flat;
      for (const auto& refs : references) {
        auto& rows = e.reference_rows.emplace_back();
        for (const auto& r : refs) {
          rows.push_back(static_cast<std::int64_t>(flat.size()));
          flat.push_back(r);
        }
      }
      e.references = embed_texts(clip, flat, options.prefix);
    }
    aligned = run.align(e.images);
    in.clip = &e;
    in.aligned_images = &aligned;
  }
  return metrics::compute_scores(wanted, in);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const auto n = v.size();
  return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Image embeddings of a split, embedded once and kept in the loop's folder.
struct EmbeddedSplit {
  io::FloatMatrix embeddings;
  std::vector<std::int64_t> kept;  // split index of each row
};

EmbeddedSplit embed_split(const Split& split, const models::ClipModel& clip, const Options& options, const fs::path& dir) {
  const fs::path npy = dir / (split.name + ".npy"), rows = dir / (split.name + "_rows.json");
  EmbeddedSplit out;
  if (fs::exists(npy) && fs::exists(rows)) {
    out.embeddings = io::read_npy_matrix(npy);
    out.kept = io::read_json(rows).get<std::vector<std::int64_t>>();
    return out;
  }
  auto e = embed::embed_media(clip, split.files, options.embed);
  if (e.embeddings.rows == 0) throw InputError(split.source.string() + ": none of the " + split.name + " images could be read");
  for (auto k : e.kept) out.kept.push_back(static_cast<std::int64_t>(k));
  out.embeddings = std::move(e.embeddings);
  fs::create_directories(dir);
  io::write_npy(npy, out.embeddings);
  io::write_json(rows, out.kept);
  return out;
}

std::vector<std::string> captions_of(const std::vector<nlohmann::json>& records) {
  std::vector<std::string> out;
  for (const auto& r : records) out.push_back(r["caption"].get<std::string>());
  return out;
}

}  // namespace

SelectionRule SelectionRule::parse(const std::string& text) {
  SelectionRule rule;
  const auto colon = text.find(':');
  const std::string name = text.substr(0, colon);
  double value = 0;
  if (colon != std::string::npos) {
    std::size_t used = 0;
    try {
      value = std::stod(text.substr(colon + 1), &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != text.size() - colon - 1) throw UsageError("selection rule '" + text + "': not a number after ':'");
  }
  if (name == "reference-median" && colon == std::string::npos) return rule;
  if (name == "threshold" && colon != std::string::npos) {
    rule.kind = Kind::threshold;
    rule.value = value;
    return rule;
  }
  if (name == "top" && colon != std::string::npos) {
    if (!(value > 0 && value <= 1)) throw UsageError("selection rule '" + text + "': the fraction must be in (0, 1]");
    rule.kind = Kind::top_fraction;
    rule.value = value;
    return rule;
  }
  throw UsageError("selection rule '" + text + "': use reference-median, threshold:VALUE or top:FRACTION");
}

std::string SelectionRule::describe() const {
  std::ostringstream s;
  if (kind == Kind::reference_median) s << "reference-median";
  else if (kind == Kind::threshold) s << "threshold:" << value;
  else s << "top:" << value;
  return s.str();
}

std::vector<double> score_captions(const std::string& metric, const std::vector<std::string>& candidates,
                                   const std::vector<std::vector<std::string>>& references, const io::FloatMatrix& images,
                                   const std::vector<std::int64_t>& image_rows, const run::Run& run,
                                   const models::ClipModel& clip, const Options& options) {
  if (candidates.empty()) return {};
  const auto scores = score_set(metrics::MetricSet::parse(metric), candidates, references, images, image_rows, run, clip, options);
  const auto* s = scores.find(selection_score_name(metric));
  if (s == nullptr) {
    const auto why = scores.unavailable.find(selection_score_name(metric));
    throw UsageError("--metric " + metric + " is unavailable" + (why != scores.unavailable.end() ? ": " + why->second : ""));
  }
  return s->per_image;
}

namespace {

// Per image, the median score of its references, each scored leave-one-out against the
// others by `metric`; infinity for an image with a single reference (no such median).
std::vector<double> reference_medians(const std::string& metric, const std::vector<std::vector<std::string>>& references,
                                      const io::FloatMatrix& images, const run::Run& run, const models::ClipModel& clip,
                                      const Options& options) {
  std::vector<std::string> left_out;
  std::vector<std::vector<std::string>> others;
  std::vector<std::int64_t> owner;  // the image (row of `images`) of each left-out reference
  for (std::size_t i = 0; i < references.size(); ++i) {
    if (references[i].size() < 2) continue;
    for (std::size_t j = 0; j < references[i].size(); ++j) {
      left_out.push_back(references[i][j]);
      auto rest = references[i];
      rest.erase(rest.begin() + static_cast<std::ptrdiff_t>(j));
      others.push_back(std::move(rest));
      owner.push_back(static_cast<std::int64_t>(i));
    }
  }
  const auto scores = score_captions(metric, left_out, others, images, owner, run, clip, options);
  std::vector<std::vector<double>> per_image(references.size());
  for (std::size_t r = 0; r < scores.size(); ++r) per_image[static_cast<std::size_t>(owner[r])].push_back(scores[r]);
  std::vector<double> medians;
  for (const auto& v : per_image) medians.push_back(v.empty() ? std::numeric_limits<double>::infinity() : median(v));
  return medians;
}

// The score each caption must reach under `rule`. `medians`: reference_medians, for the
// reference-median rule.
std::vector<double> selection_bars(const SelectionRule& rule, const std::vector<double>& scores,
                                   const std::vector<double>& medians) {
  switch (rule.kind) {
    case SelectionRule::Kind::reference_median:
      return medians;
    case SelectionRule::Kind::threshold:
      return std::vector<double>(scores.size(), rule.value);
    case SelectionRule::Kind::top_fraction: {
      auto sorted = scores;
      std::sort(sorted.begin(), sorted.end(), std::greater<>());
      const auto keep = static_cast<std::size_t>(std::ceil(rule.value * static_cast<double>(sorted.size())));
      return std::vector<double>(scores.size(), keep == 0 ? std::numeric_limits<double>::infinity() : sorted[keep - 1]);
    }
  }
  throw Error(ExitCode::internal, "selection_bars: unknown rule");
}

}  // namespace

Loop::Loop(const run::Run& run, const models::ClipModel& clip, const models::T5Model* lm, Options options)
    : run_(run), clip_(clip), lm_(lm), options_(std::move(options)) {
  if (options_.iterations < 1) throw UsageError("--iterations must be at least 1");
  const auto metric = metrics::MetricSet::parse(options_.metric);
  if (metric.names.size() != 1) throw UsageError("--metric takes one metric, got '" + options_.metric + "'");
  if (metric.has("meteor") && options_.meteor.jar.empty()) throw UsageError("--metric meteor needs --meteor-jar");
  if (metric.has("spice") && options_.spice.jar.empty()) throw UsageError("--metric spice needs --spice-jar");
  metrics::MetricSet::parse(options_.val_metrics);
  if (!run_.has_datastore()) throw InputError(run_.dir().string() + ": run has no datastore to augment (fit with captions)");
  if (clip_.info().embed_dim != run_.text_dim())
    throw InputError("CLIP embeds in " + std::to_string(clip_.info().embed_dim) + " dimensions but the run's mapping produces " +
                     std::to_string(run_.text_dim()));
  if (lm_ != nullptr) {
    options_.lm.k = options_.k;
    options_.lm.search = options_.search;
    options_.lm.validate();
  }
}

std::vector<IterationSummary> Loop::run(const Split& train, const Split& val, const fs::path& out,
                                        const nlohmann::json& settings, bool force,
                                        const std::function<void(const IterationSummary&)>& on_iteration) const {
  for (const auto* split : {&train, &val})
    for (std::size_t i = 0; i < split->ids.size(); ++i)
      if (split->references[i].empty())
        throw InputError(split->source.string() + ": " + split->name + " image " + split->ids[i] + " has no reference captions");
  if (train.ids.empty() || val.ids.empty()) throw InputError("the train and validation splits must both have images");

  // The loop's folder: new, or one this loop wrote with the same settings (resumed).
  const fs::path settings_path = out / "dal.json";
  if (fs::exists(out)) {
    if (!fs::exists(settings_path)) {
      if (!fs::is_directory(out) || !fs::is_empty(out))
        throw UsageError(out.string() + ": exists and was not written by recap-dal; choose another --out");
    } else if (io::read_json(settings_path) != settings) {
      if (!force)
        throw UsageError(out.string() + ": holds a DAL run with other settings (" +
                         io::describe_differences(io::read_json(settings_path), settings) +
                         "); pass --force to replace it, or rerun with the same options to resume");
      fs::remove_all(out);
    }
  }
  fs::create_directories(out);
  if (!fs::exists(settings_path)) io::write_json(settings_path, settings);

  auto train_emb = embed_split(train, clip_, options_, out / "embeddings");
  auto val_emb = embed_split(val, clip_, options_, out / "embeddings");
  auto inputs_of = [](const Split& split, EmbeddedSplit& e) {
    caption::CaptionInputs in;
    in.source = split.source;
    in.embeddings = std::move(e.embeddings);  // the split's embeddings live in the inputs from here on
    for (auto i : e.kept) in.ids.emplace_back(split.ids[static_cast<std::size_t>(i)]);
    return in;
  };
  const auto train_inputs = inputs_of(train, train_emb), val_inputs = inputs_of(val, val_emb);
  std::vector<std::int64_t> train_rows(train_emb.kept.size()), val_rows(val_emb.kept.size());
  std::iota(train_rows.begin(), train_rows.end(), 0);
  std::iota(val_rows.begin(), val_rows.end(), 0);
  auto refs_of = [](const Split& split, const EmbeddedSplit& e) {
    std::vector<std::vector<std::string>> refs;
    for (auto i : e.kept) refs.push_back(split.references[static_cast<std::size_t>(i)]);
    return refs;
  };
  const auto train_refs = refs_of(train, train_emb), val_refs = refs_of(val, val_emb);

  // Captions `inputs` with `store`, resuming from `log_path`; every image excluded from
  // retrieving the captions of its own id.
  auto caption_split = [&](const retrieval::Datastore& store, const caption::CaptionInputs& inputs, int iteration,
                           const fs::path& log_path, const std::string& label) {
    std::unique_ptr<caption::Captioner> captioner;
    if (lm_ != nullptr) {
      auto lm_options = options_.lm;
      lm_options.sample.seed += static_cast<std::uint64_t>(iteration) * 1000003u;  // fresh samples per iteration
      captioner = std::make_unique<caption::LmCaptioner>(store, clip_, *lm_, lm_options);
    } else {
      captioner = std::make_unique<caption::RetrievalCaptioner>(store, options_.k, options_.search);
    }
    caption::PipelineOptions po;
    po.batch_size = options_.batch_size;
    po.excluded_rows = [&store](const nlohmann::json& id) { return store.rows_of_image(id); };
    po.progress_label = label;
    const caption::Pipeline pipeline(run_, *captioner, nullptr, po);
    auto log_settings = pipeline.settings(inputs, store);
    log_settings["iteration"] = iteration;
    io::ResumeLog log(log_path, log_settings, false);
    auto result = pipeline.caption(inputs, log);
    log.finish();
    return result.records;
  };

  auto validate = [&](const retrieval::Datastore& store, int iteration, const fs::path& dir, IterationSummary& summary) {
    const auto records = caption_split(store, val_inputs, iteration, dir / "val.partial.jsonl",
                                       "iteration " + std::to_string(iteration) + ": validation");
    io::write_json(dir / "val_results.json", caption::coco_results(records));
    const auto scores = score_set(metrics::MetricSet::parse(options_.val_metrics), captions_of(records), val_refs,
                                  val_inputs.embeddings, val_rows, run_, clip_, options_);
    nlohmann::json json = nlohmann::json::object();
    for (const auto& s : scores.scores) {
      summary.val_scores.emplace_back(s.name, s.value);
      json[s.name] = s.value;
    }
    io::write_json(dir / "val_scores.json", json);
  };

  auto summary_json = [](const IterationSummary& s) {
    nlohmann::json scores = nlohmann::json::array();
    for (const auto& [name, value] : s.val_scores) scores.push_back({name, value});
    return nlohmann::json{{"iteration", s.iteration}, {"datastore_size", s.datastore_size}, {"added", s.added},
                          {"candidates", s.candidates}, {"val_scores", scores}};
  };
  auto read_summary = [](const fs::path& dir) {
    const auto j = io::read_json(dir / "summary.json");
    IterationSummary s;
    s.iteration = j["iteration"];
    s.datastore_size = j["datastore_size"];
    s.added = j["added"];
    s.candidates = j["candidates"];
    for (const auto& p : j["val_scores"]) s.val_scores.emplace_back(p[0].get<std::string>(), p[1].get<double>());
    return s;
  };

  std::vector<IterationSummary> summaries;
  std::vector<fs::path> layers;  // the additions so far
  // The reference-median bars depend on the references alone, not on the iteration.
  std::optional<std::vector<double>> medians;
  auto write_plot = [&] {
    std::ofstream csv(out / "dal.csv.tmp");
    csv << "iteration,datastore_size,candidates,added";
    for (const auto& [name, value] : summaries.front().val_scores) csv << "," << name;
    csv << "\n";
    std::vector<int> x;
    std::vector<vision::ChartSeries> series(summaries.front().val_scores.size() + 1);
    series.back().name = "captions added";
    for (const auto& s : summaries) {
      csv << s.iteration << "," << s.datastore_size << "," << s.candidates << "," << s.added;
      x.push_back(s.iteration);
      for (std::size_t i = 0; i < s.val_scores.size(); ++i) {
        csv << "," << s.val_scores[i].second;
        series[i].name = "val " + s.val_scores[i].first;
        series[i].values.push_back(s.val_scores[i].second);
      }
      series.back().values.push_back(static_cast<double>(s.added));
      csv << "\n";
    }
    csv.close();
    fs::rename(out / "dal.csv.tmp", out / "dal.csv");
    vision::write_line_charts(out / "dal.png", "recap-dal: validation scores per iteration (" + options_.metric + ", " +
                                                   options_.rule.describe() + ")", x, series);
  };

  for (int iteration = 0; iteration <= options_.iterations; ++iteration) {
    const fs::path done = out / ("iter-" + std::to_string(iteration));
    if (fs::exists(done / "summary.json")) {
      summaries.push_back(read_summary(done));
      if (summaries.back().added > 0) layers.push_back(done / "datastore");
      continue;
    }
    const fs::path staging = out / ("iter-" + std::to_string(iteration) + ".partial");
    fs::create_directories(staging);
    IterationSummary summary;
    summary.iteration = iteration;
    if (iteration > 0) {
      const auto store = run_.open_datastore(layers);
      const auto records = caption_split(store, train_inputs, iteration, staging / "train.partial.jsonl",
                                         "iteration " + std::to_string(iteration) + ": training images");
      io::write_jsonl(staging / "train_captions.jsonl", records);
      const auto candidates = captions_of(records);
      const auto scores = score_captions(options_.metric, candidates, train_refs, train_inputs.embeddings, train_rows, run_,
                                         clip_, options_);
      if (options_.rule.kind == SelectionRule::Kind::reference_median && !medians)
        medians = reference_medians(options_.metric, train_refs, train_inputs.embeddings, run_, clip_, options_);
      const auto bar = selection_bars(options_.rule, scores, medians ? *medians : std::vector<double>{});
      std::vector<nlohmann::json> added;
      std::vector<std::string> added_text;
      for (std::size_t i = 0; i < candidates.size(); ++i) {
        if (!(scores[i] >= bar[i])) continue;
        added.push_back({{"caption", candidates[i]}, {"image_id", records[i]["image_id"]}, {"iteration", iteration},
                         {"score", scores[i]}, {"bar", bar[i]}, {"metric", options_.metric},
                         {"rule", options_.rule.describe()}});
        added_text.push_back(candidates[i]);
      }
      io::write_jsonl(staging / "added.jsonl", added);
      summary.candidates = static_cast<std::int64_t>(candidates.size());
      summary.added = static_cast<std::int64_t>(added.size());
      if (!added.empty()) {
        // The new layer: the added captions and their text embeddings (no prefix, as the
        // datastore recap-fit writes).
        const auto emb = embed_texts(clip_, added_text, "");
        fs::create_directories(staging / "datastore");
        io::write_jsonl(staging / "datastore" / "captions.jsonl", added);
        io::write_npy(staging / "datastore" / "embeddings.npy", emb);
        layers.push_back(staging / "datastore");
      }
    }
    const auto store = run_.open_datastore(layers);
    summary.datastore_size = store.size();
    validate(store, iteration, staging, summary);
    io::write_json(staging / "summary.json", summary_json(summary));
    fs::rename(staging, done);
    if (summary.added > 0) layers.back() = done / "datastore";
    summaries.push_back(summary);
    if (on_iteration) on_iteration(summary);
    write_plot();
    if (options_.stop_after_iterations > 0 && iteration >= options_.stop_after_iterations) break;
  }
  write_plot();
  return summaries;
}

}  // namespace recap::dal
