// recap-score: the captioning metrics, equal to pycocoevalcap's (BLEU, ROUGE-L, CIDEr-D)
// and clipscore's (CLIP-S, RefCLIP-S), plus the paper's aCLIP-S / RefaCLIP-S; and their
// correlation with human judgements (correlate). The metrics live in recap/metrics.
#include <cmath>
#include <cstdio>
#include <optional>

#include "cli_support.h"
#include "dataset_options.h"
#include "model_options.h"
#include "recap/common/compute.h"
#include "recap/common/error.h"
#include "recap/data/captions.h"
#include "recap/io/json_file.h"
#include "recap/io/output_rule.h"
#include "recap/metrics/flickr8k_correlation.h"
#include "recap/metrics/retrieval_recall.h"
#include "recap/metrics/scoring.h"
#include "recap/run/run.h"

using namespace recap;

namespace {

struct Options {
  std::vector<std::string> results_files;
  std::string results;  // the results files' names, for messages
  std::string refs, split, metrics_list = "bleu,rouge,cider", json_out, per_image_out;
  std::string image_embeddings, image_ids, candidate_embeddings, reference_embeddings, run, mapping;
  std::string images, prefix = "A photo depicts ";
  embed::EmbedSettings embed;
  std::string meteor_jar, spice_jar, java = "java";
  double java_timeout = 120;
  double clip_weight = metrics::kClipScoreWeight;
  int bootstrap = 0;
  std::uint32_t seed = 0;
  bool no_tokenize = false, strict = false, force = false;
  cli::DatasetFlags dataset;
};

void print_correlation(const metrics::Flickr8kCorrelation& result, const std::string& set, const std::string& json_out) {
  const char* variant = result.expert ? "c" : "b";
  std::printf("%s: %zu judgements, Kendall tau-%s\n", set.c_str(), result.judgements, variant);
  nlohmann::json json = {{"dataset", set}, {"judgements", result.judgements}, {"variant", variant}};
  for (const auto& row : result.rows) {
    if (std::isnan(row.tau)) {  // a metric constant over the set has no rank correlation
      std::printf("%-12s %8s   (constant scores)\n", row.metric.c_str(), "n/a");
      json["tau"][row.metric] = nullptr;
      continue;
    }
    std::printf("%-12s %8.4f\n", row.metric.c_str(), row.tau);
    json["tau"][row.metric] = row.tau;
  }
  if (!json_out.empty()) io::write_json(json_out, json);
}

std::vector<int> parse_ks(const std::string& list) {
  std::vector<int> ks;
  for (const auto& item : data::parse_split_list(list)) {
    std::size_t used = 0;
    int k = 0;
    try {
      k = std::stoi(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != item.size() || k < 1) throw UsageError("--ks: '" + item + "' is not a positive whole number");
    ks.push_back(k);
  }
  if (ks.empty()) throw UsageError("--ks is empty");
  return ks;
}

void print_recall(const metrics::DatasetRecallReport& report, const std::string& json_out) {
  std::printf("%lld images, %lld captions: image-to-text recall@k\n", static_cast<long long>(report.images),
              static_cast<long long>(report.captions));
  std::printf("%-8s %10s%s\n", "k", "raw CLIP", report.aligned.empty() ? "" : "    aligned");
  for (std::size_t i = 0; i < report.ks.size(); ++i) {
    std::printf("R@%-6d %10.4f", report.ks[i], report.raw[i]);
    if (!report.aligned.empty()) std::printf(" %10.4f", report.aligned[i]);
    std::printf("\n");
  }
  std::printf("modality gap (distance between centres): raw %.4f%s\n", report.gap.centre_distance,
              report.aligned.empty() ? ""
                                     : (", aligned " + std::to_string(report.aligned_gap.centre_distance)).c_str());
  if (!json_out.empty()) io::write_json(json_out, report.to_json());
}

// Terminal table, then files.
void report(const metrics::Scores& scores, const std::vector<data::CaptionResult>& results, const Options& o) {
  std::printf("%-12s %10s%s\n", "metric", "score", o.bootstrap > 0 ? "   95% CI" : "");
  nlohmann::json json = nlohmann::json::object();
  for (const auto& s : scores.scores) {
    if (s.interval)
      std::printf("%-12s %10.4f   [%.4f, %.4f]\n", s.name.c_str(), s.value, s.interval->first, s.interval->second);
    else
      std::printf("%-12s %10.4f\n", s.name.c_str(), s.value);
    json[s.name] = s.value;
    if (s.interval) json[s.name + "_95ci"] = {s.interval->first, s.interval->second};
  }
  for (const auto& [name, reason] : scores.unavailable) {
    std::printf("%-12s %10s   (%s)\n", name.c_str(), "n/a", reason.c_str());
    json["unavailable"][name] = reason;
  }
  std::printf("%zu images\n", results.size());
  if (!o.per_image_out.empty()) {
    std::vector<nlohmann::json> lines;
    for (std::size_t i = 0; i < results.size(); ++i) {
      nlohmann::json line = {{"image_id", results[i].image_id}, {"caption", results[i].caption}};
      for (const auto& s : scores.scores) line[s.name] = s.per_image[i];
      lines.push_back(std::move(line));
    }
    io::write_jsonl(o.per_image_out, lines);
  }
  if (!o.json_out.empty()) io::write_json(o.json_out, json);
}

// The CLIP metrics' embeddings, from the model or from files; before any scoring, since
// embedding is the slow part and a missing image should not surface after METEOR ran.
metrics::ClipEmbeddings clip_embeddings(Options& o, const metrics::MetricSet& wanted, bool from_model,
                                        const std::vector<data::CaptionResult>& results, const data::ReferenceSet& refs,
                                        const cli::CommonOptions& common) {
  const bool with_refs = wanted.needs_references_embedded();
  if (!from_model && (o.image_embeddings.empty() || o.candidate_embeddings.empty()))
    throw UsageError("CLIP metrics need --clip and --images, or --image-embeddings and --candidate-embeddings "
                     "(see recap-embed)");
  if (!from_model && with_refs && o.reference_embeddings.empty())
    throw UsageError("refclip-s / refaclip-s need --reference-embeddings");
  metrics::ClipEmbeddings clip;
  if (from_model) {
    o.embed.threads = common.threads;
    o.embed.verbose = common.verbose;
    clip = metrics::embed_for_clip_scores({o.embed, o.images, o.prefix}, results, refs, with_refs);
  } else {
    clip = metrics::read_clip_embeddings(
        {o.image_embeddings, o.image_ids, o.candidate_embeddings, o.reference_embeddings, o.refs}, results, refs, with_refs);
  }
  if (clip.images.cols != clip.candidates.cols && wanted.plain_clip())
    throw InputError((from_model ? o.embed.clip : o.image_embeddings) + ": dimension " + std::to_string(clip.images.cols) +
                     " differs from the candidates' " + std::to_string(clip.candidates.cols));
  return clip;
}

// The flags of scoring (the correlate subcommand has its own).
void add_score_options(CLI::App& app, Options& o) {
  app.add_option("--results", o.results_files,
                 "Captions to score: COCO results [{\"image_id\", \"caption\"}]; several files (the shards of a "
                 "recap-caption --shard job array) are scored as one, and an image in two of them is an error")
      ->check(CLI::ExistingFile);
  app.add_option("--refs,--dataset", o.refs,
                 "References: COCO or VizWiz annotations, a Karpathy split file, MSR-VTT's MSRVTT_data.json or "
                 "Flickr8k.token.txt (these three with --split), or a folder with captions.json")
      ->check(CLI::ExistingFile | CLI::ExistingDirectory);
  app.add_option("--split", o.split, "With a file that mixes splits: the split to score (test, val, ...; MSR-VTT: test-1k)");
  cli::add_dataset_options(app, o.dataset);
  app.add_option("--metrics", o.metrics_list,
                 "Comma-separated: bleu,rouge,cider,meteor,spice,clip-s,refclip-s,aclip-s,refaclip-s")
      ->capture_default_str();
  app.add_option("--json", o.json_out, "Write the scores as JSON (pycocoevalcap / clipscore key names)");
  app.add_option("--per-image", o.per_image_out, "Write one JSON line of scores per image");
  app.add_option("--bootstrap", o.bootstrap, "Resamples for 95% bootstrap confidence intervals (e.g. 1000)")
      ->check(cli::kNonNegative);
  app.add_option("--seed", o.seed, "Seed of the bootstrap resampling")->capture_default_str();
  app.add_flag("--no-tokenize", o.no_tokenize, "Captions are already tokenised: skip the PTB step");
  app.add_flag("--strict", o.strict, "Treat warnings (empty captions, references without results) as errors");
  app.add_option("--image-embeddings", o.image_embeddings, "CLIP image embeddings (.npy) for the CLIP metrics")
      ->check(CLI::ExistingFile);
  app.add_option("--image-ids", o.image_ids, "JSON array: the image id of each --image-embeddings row "
                                              "(default: the order of --results)")->check(CLI::ExistingFile);
  app.add_option("--candidate-embeddings", o.candidate_embeddings, "CLIP text embeddings of the results, in their order")
      ->check(CLI::ExistingFile);
  app.add_option("--reference-embeddings", o.reference_embeddings,
                 "CLIP text embeddings of the reference captions, in the order of --refs")->check(CLI::ExistingFile);
  app.add_option("--run", o.run, "Run directory whose mapping.npy gives aCLIP-S / RefaCLIP-S")
      ->check(CLI::ExistingDirectory);
  app.add_option("--mapping", o.mapping, "mapping.npy for aCLIP-S / RefaCLIP-S (instead of --run)")
      ->check(CLI::ExistingFile);
  app.add_option("--clip", o.embed.clip,
                 "CLIP model (anything recap-embed --clip loads) to embed images, results and references for the CLIP "
                 "metrics, instead of the embedding files");
  app.add_option("--images", o.images,
                 "With --clip: the images of the results: a folder (a file answers to the image id as its stem, or as "
                 "the number in COCO_<split>2014_<12 digits> / <12 digits>), a list file of paths, or a .json "
                 "{\"<image id>\": \"<path>\"}");
  app.add_option("--prefix", o.prefix, "With --clip: text prepended to results and references (clipscore's)")
      ->capture_default_str();
  cli::add_embed_options(app, o.embed);
  app.add_option("--clip-weight", o.clip_weight, "w in CLIP-S = w * max(cos, 0)")->capture_default_str();
  app.add_option("--meteor-jar", o.meteor_jar, "METEOR 1.5 jar (meteor-1.5.jar); METEOR is unavailable without it");
  app.add_option("--spice-jar", o.spice_jar, "SPICE 1.0 jar (spice-1.0.jar); SPICE is unavailable without it");
  app.add_option("--java", o.java, "Java executable for the METEOR/SPICE jars")->capture_default_str();
  app.add_option("--java-timeout", o.java_timeout, "Seconds a jar may take per exchange before it is stopped")
      ->check(cli::kPositive)->capture_default_str();
  app.add_flag("--force", o.force, "Overwrite existing output files");

}

}  // namespace

int main(int argc, char** argv) {
  back_heap_with_huge_pages();  // n-gram tables and JSON: millions of small objects
  CLI::App app{
      "Score captions against references, with pycocoevalcap's and clipscore's numbers and JSON names:\n"
      "  Bleu_1..4, ROUGE_L, CIDEr (CIDEr-D, as pycocoevalcap prints it) on PTB-tokenised captions;\n"
      "  CLIP-S    = 2.5 * max(cos(image, candidate), 0)\n"
      "  RefCLIP-S = harmonic mean of CLIP-S and max over references of cos(candidate, reference)\n"
      "  aCLIP-S, RefaCLIP-S: the same with the image embedding replaced by normalize(x @ W) from --run/--mapping.\n"
      "CLIP scores take embeddings (recap-embed; clipscore embeds texts with the prefix \"A photo depicts \"), or\n"
      "--clip MODEL --images DIR to embed the images, results and references here (through recap-embed).",
      "recap-score"};
  cli::CommonOptions common;
  Options o;
  add_score_options(app, o);
  cli::add_common_options(app, common);
  metrics::Flickr8kCorrelationRequest c;
  std::string correlate_set, correlate_json;
  bool correlate_force = false;
  CLI::App* correlate = app.add_subcommand(
      "correlate",
      "Kendall tau between each metric and human judgements on Flickr8k, as clipscore reports it: tau-c on\n"
      "Flickr8k-Expert (3 ratings per pair, pairs whose caption is one of the image's references skipped),\n"
      "tau-b on Flickr8k-CrowdFlower (fraction of yes votes). CLIP metrics need --clip and --images.");
  correlate->add_option("--dataset", correlate_set, "flickr8k-expert | flickr8k-cf")
      ->required()->check(CLI::IsMember({"flickr8k-expert", "flickr8k-cf"}));
  correlate->add_option("--root", c.root, "Folder with Flickr8k.token.txt and the annotation files (or Flickr8k_text/)")
      ->required()->check(CLI::ExistingDirectory);
  correlate->add_option("--clip", c.clip, "CLIP model for CLIP-S / RefCLIP-S (and aCLIP-S / RefaCLIP-S with --run)");
  correlate->add_option("--images", c.images, "Flickr8k image folder (Flicker8k_Dataset/), needed with --clip");
  correlate->add_option("--run", c.run, "Run directory whose W gives aCLIP-S / RefaCLIP-S")->check(CLI::ExistingDirectory);
  correlate->add_option("--prefix", c.prefix, "Text prefix for CLIP text embeddings")->capture_default_str();
  correlate->add_option("--json", correlate_json, "Write the correlations as JSON");
  correlate->add_flag("--force", correlate_force, "Overwrite an existing --json");

  metrics::DatasetRecallRequest r;
  cli::DatasetFlags recall_dataset;
  std::string recall_split, recall_ks = "1,5,10", recall_json;
  bool recall_force = false;
  CLI::App* recall = app.add_subcommand(
      "recall",
      "Image-to-text retrieval on a dataset split, as CLIP papers report it: recall@k is the share of images with one\n"
      "of their own captions among the k captions (of the whole split) closest to the image; with --run also by the\n"
      "aligned embedding normalize(x @ W). Prints the modality gap too (distance between the centres of the\n"
      "normalised image and text embeddings).");
  recall->add_option("--dataset", r.dataset, "Any dataset recap-fit --dataset reads")->required()
      ->check(CLI::ExistingFile | CLI::ExistingDirectory);
  recall->add_option("--split", recall_split, "The split to evaluate (e.g. test)");
  cli::add_dataset_options(*recall, recall_dataset);
  recall->add_option("--images", r.images_root, "The folder the dataset's media paths are relative to")->required()
      ->check(CLI::ExistingDirectory);
  recall->add_option("--clip", r.embed.clip, "CLIP model")->required();
  recall->add_option("--run", r.run, "Run directory: also rank by the aligned embedding")->check(CLI::ExistingDirectory);
  recall->add_option("--ks", recall_ks, "Comma-separated k values")->capture_default_str();
  recall->add_option("--json", recall_json, "Write the recalls and the gap as JSON");
  recall->add_flag("--force", recall_force, "Overwrite an existing --json");

  return cli::run(app, argc, argv, [&] {
    if (recall->parsed()) {
      r.ks = parse_ks(recall_ks);
      r.options = cli::dataset_options(recall_dataset, recall_split);
      r.embed.threads = common.threads;
      r.embed.verbose = common.verbose;
      io::check_output_plan({{r.dataset, r.images_root, r.run, r.embed.clip}, {recall_json}, {}, recall_force});
      return print_recall(metrics::evaluate_dataset_recall(r), recall_json);
    }
    if (correlate->parsed()) {
      c.expert = correlate_set == "flickr8k-expert";
      c.clip_weight = o.clip_weight;
      c.threads = common.threads;
      io::check_output_plan({{c.root, c.clip, c.images, c.run}, {correlate_json}, {}, correlate_force});
      return print_correlation(metrics::correlate_flickr8k(c), correlate_set, correlate_json);
    }
    if (o.results_files.empty() || o.refs.empty()) throw UsageError("--results and --refs are required (or use: correlate)");
    for (const auto& file : o.results_files) o.results += (o.results.empty() ? "" : " + ") + file;
    const auto wanted = metrics::MetricSet::parse(o.metrics_list);
    const bool from_model = !o.embed.clip.empty() || !o.images.empty();
    if (from_model) {
      if (!o.image_embeddings.empty() || !o.image_ids.empty() || !o.candidate_embeddings.empty() ||
          !o.reference_embeddings.empty())
        throw UsageError("give either --clip and --images (embed here) or --image-embeddings, --image-ids, "
                         "--candidate-embeddings, --reference-embeddings (precomputed), not both");
      if (o.embed.clip.empty() || o.images.empty()) throw UsageError("embedding for the CLIP metrics needs both --clip and --images");
      if (!wanted.needs_clip())
        throw UsageError("--clip and --images serve the CLIP metrics: add clip-s, refclip-s, aclip-s or refaclip-s to --metrics");
    } else if (app.count("--prefix") > 0) {
      throw UsageError("--prefix applies to --clip (precomputed embeddings carry their prefix already)");
    }
    const std::vector<std::filesystem::path> result_paths(o.results_files.begin(), o.results_files.end());
    std::vector<std::filesystem::path> inputs = result_paths;
    for (const auto& path : {o.refs, o.image_embeddings, o.image_ids, o.candidate_embeddings, o.reference_embeddings,
                             o.run, o.mapping, o.images, o.embed.clip, o.meteor_jar, o.spice_jar})
      inputs.push_back(path);
    io::check_output_plan({inputs,
                           {o.json_out, o.per_image_out},
                           {},
                           o.force});

    // Results and references, matched by image id.
    const auto results = data::read_results(result_paths);
    if (results.empty()) throw InputError(o.results + ": no results to score");
    const auto refs = data::read_references(o.refs, o.split.empty() ? std::nullopt : std::optional(o.split),
                                           cli::dataset_options(o.dataset, ""));
    const auto images = metrics::pair_with_references(results, refs, !o.no_tokenize, o.results, o.refs);
    std::size_t empty_candidates = 0;
    for (const auto& image : images)
      if (image.candidate.find_first_not_of(' ') == std::string::npos) ++empty_candidates;
    if (empty_candidates > 0)
      cli::warn_or_fail(o.strict, std::to_string(empty_candidates) + " of " + std::to_string(results.size()) +
                                 " captions are empty after tokenisation; they score 0");
    if (refs.captions.size() > results.size())
      cli::warn_or_fail(o.strict, std::to_string(refs.captions.size() - results.size()) + " of " +
                                 std::to_string(refs.captions.size()) + " reference images have no result; scoring the " +
                                 std::to_string(results.size()) + " that do");

    metrics::ScoringInputs in;
    in.images = &images;
    for (const auto& r : results) in.image_names.push_back(r.key);
    std::optional<metrics::ClipEmbeddings> clip;
    std::optional<io::FloatMatrix> aligned;
    if (wanted.needs_clip()) {
      if (wanted.aligned_clip() && o.run.empty() && o.mapping.empty()) throw UsageError("aclip-s / refaclip-s need --run or --mapping");
      const auto run = wanted.aligned_clip() ? std::optional(o.mapping.empty() ? run::Run::open(o.run)
                                                                                : run::Run::from_mapping_file(o.mapping))
                                             : std::nullopt;
      clip = clip_embeddings(o, wanted, from_model, results, refs, common);
      in.clip = &*clip;
      if (run) aligned = run->align(clip->images, from_model ? o.embed.clip : o.image_embeddings);
      if (aligned) in.aligned_images = &*aligned;
    }
    in.meteor = {o.java, o.meteor_jar, o.java_timeout, ""};
    in.spice = {o.java, o.spice_jar, o.java_timeout, ""};
    in.clip_weight = o.clip_weight;
    auto scores = metrics::compute_scores(wanted, in);
    if (o.bootstrap > 0) metrics::add_bootstrap_intervals(scores, images.size(), o.bootstrap, o.seed);
    report(scores, results, o);
  });
}
