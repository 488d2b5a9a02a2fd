// recap-score: the captioning metrics, equal to pycocoevalcap's (BLEU, ROUGE-L, CIDEr-D)
// and clipscore's (CLIP-S, RefCLIP-S), plus the paper's aCLIP-S / RefaCLIP-S.
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <tuple>

#include "cli_support.h"
#include "embed_subprocess.h"
#include "score_clip_inputs.h"
#include "recap/align/linear_map.h"
#include "recap/common/error.h"
#include "recap/common/rows.h"
#include "recap/data/captions.h"
#include "recap/io/atomic_file.h"
#include "recap/io/json_file.h"
#include "recap/io/npy.h"
#include "recap/io/temp_dir.h"
#include "recap/io/output_rule.h"
#include "recap/metrics/bootstrap.h"
#include "recap/data/flickr8k.h"
#include "recap/metrics/clip_score.h"
#include "recap/metrics/java_scorers.h"
#include "recap/metrics/human_correlation.h"
#include "recap/metrics/text_metrics.h"

using namespace recap;

namespace {

const std::vector<std::string> kAllMetrics = {"bleu",   "rouge",     "cider",   "meteor",    "spice",
                                              "clip-s", "refclip-s", "aclip-s", "refaclip-s"};

struct Score {
  std::string name;
  double value = 0;
  std::vector<double> per_image;
  metrics::ResampledScore resample;  // corpus score of a resample, for --bootstrap
  std::optional<std::pair<double, double>> interval = std::nullopt;
};

struct Options {
  std::string results, refs, split, metrics_list = "bleu,rouge,cider", json_out, per_image_out;
  std::string image_embeddings, image_ids, candidate_embeddings, reference_embeddings, run, mapping;
  std::string images, prefix = "A photo depicts ";
  cli::EmbedSettings embed;
  std::string meteor_jar, spice_jar, java = "java";
  double java_timeout = 120;
  double clip_weight = metrics::kClipScoreWeight;
  int bootstrap = 0;
  std::uint32_t seed = 0;
  bool no_tokenize = false, strict = false, force = false;
};

std::set<std::string> parse_metrics(const std::string& list) {
  std::set<std::string> wanted;
  std::stringstream in(list);
  for (std::string m; std::getline(in, m, ',');) {
    if (m.empty()) continue;
    if (std::find(kAllMetrics.begin(), kAllMetrics.end(), m) == kAllMetrics.end())
      throw UsageError("unknown metric '" + m + "' (choose from bleu, rouge, cider, meteor, spice, clip-s, refclip-s, "
                       "aclip-s, refaclip-s)");
    wanted.insert(m);
  }
  return wanted;
}

struct CorrelateOptions;
void add_clip_scores(const CorrelateOptions& c, const std::vector<data::Judgement>& judgements, double weight,
                     std::map<std::string, std::vector<double>>& scores);

struct CorrelateOptions {
  std::string dataset, root, clip, images, run, json_out, prefix = "A photo depicts ";
  bool force = false;
  int threads = 0;
};

void run_correlate(const CorrelateOptions& c, double weight) {
  io::check_output_plan({{c.root, c.clip, c.images, c.run}, {c.json_out}, {}, c.force});
  const bool expert = c.dataset == "flickr8k-expert";
  const auto judgements = data::read_flickr8k(c.root, expert ? data::Flickr8kSet::expert : data::Flickr8kSet::crowdflower);
  auto scores = metrics::text_scores(judgements, false);
  if (!c.clip.empty()) {
    if (c.images.empty()) throw UsageError("correlate --clip needs --images (the Flickr8k image folder)");
    add_clip_scores(c, judgements, weight, scores);
  } else if (!c.run.empty()) {
    throw UsageError("correlate --run needs --clip to embed images and captions");
  }
  const auto variant = expert ? metrics::KendallVariant::c : metrics::KendallVariant::b;
  const auto rows = metrics::correlate(scores, judgements, variant);
  std::printf("%s: %zu judgements, Kendall tau-%s\n", c.dataset.c_str(), judgements.size(), expert ? "c" : "b");
  nlohmann::json json = {{"dataset", c.dataset}, {"judgements", judgements.size()}, {"variant", expert ? "c" : "b"}};
  for (const auto& row : rows) {
    if (std::isnan(row.tau)) {  // a metric constant over the set has no rank correlation
      std::printf("%-12s %8s   (constant scores)\n", row.metric.c_str(), "n/a");
      json["tau"][row.metric] = nullptr;
      continue;
    }
    std::printf("%-12s %8.4f\n", row.metric.c_str(), row.tau);
    json["tau"][row.metric] = row.tau;
  }
  if (!c.json_out.empty()) io::write_json(c.json_out, json);
}

// CLIP-S / RefCLIP-S (and the aligned pair with --run) per judgement, from the model.
void add_clip_scores(const CorrelateOptions& c, const std::vector<data::Judgement>& judgements, double weight,
                     std::map<std::string, std::vector<double>>& scores) {
  const io::TemporaryDirectory scratch("recap-correlate");
  const std::filesystem::path& dir = scratch.path();

  std::map<std::string, std::int64_t> image_row, text_row;
  std::vector<std::filesystem::path> image_files;
  std::vector<std::string> texts;
  auto text_index = [&](const std::string& caption) {
    auto [it, inserted] = text_row.emplace(caption, static_cast<std::int64_t>(texts.size()));
    if (inserted) texts.push_back(caption);
    return it->second;
  };
  for (const auto& j : judgements)
    if (image_row.emplace(j.image, static_cast<std::int64_t>(image_files.size())).second) {
      const auto path = std::filesystem::absolute(std::filesystem::path(c.images) / j.image);
      if (!std::filesystem::exists(path)) throw InputError(path.string() + ": image not found");
      image_files.push_back(path);
    }
  std::vector<std::int64_t> candidate_rows;
  std::vector<std::vector<std::int64_t>> reference_rows;
  for (const auto& j : judgements) {
    candidate_rows.push_back(text_index(j.caption));
    auto& refs = reference_rows.emplace_back();
    for (const auto& r : j.references) refs.push_back(text_index(r));
  }
  cli::EmbedSettings settings;
  settings.clip = c.clip;
  settings.threads = c.threads;
  settings.strict = true;  // every judged image must be scored
  cli::EmbedSubprocess text_embedder(settings);
  settings.no_cache = true;  // correlate has always left the image cache alone
  cli::EmbedSubprocess image_embedder(settings);
  const auto image_embeddings = io::read_npy_matrix(image_embedder.embed_images(image_files, dir, true).embeddings);
  const auto text_embeddings = io::read_npy_matrix(text_embedder.embed_texts(texts, c.prefix, dir, true));

  const auto n = static_cast<std::int64_t>(judgements.size());
  io::FloatMatrix image_side(n, image_embeddings.cols), candidates(n, text_embeddings.cols);
  for (std::int64_t i = 0; i < n; ++i) {
    const float* img = image_embeddings.row(image_row[judgements[i].image]);
    std::copy(img, img + image_side.cols, image_side.row(i));
    const float* cand = text_embeddings.row(candidate_rows[i]);
    std::copy(cand, cand + candidates.cols, candidates.row(i));
  }
  const auto plain = metrics::clip_scores(image_side, candidates, text_embeddings, reference_rows, weight);
  scores["CLIP-S"] = plain.clip_s_per_image;
  scores["RefCLIP-S"] = plain.ref_clip_s_per_image;
  if (!c.run.empty()) {
    const auto aligned = metrics::clip_scores(align::apply_map(image_side, align::load_mapping(c.run), true), candidates,
                                              text_embeddings, reference_rows, weight);
    scores["aCLIP-S"] = aligned.clip_s_per_image;
    scores["RefaCLIP-S"] = aligned.ref_clip_s_per_image;
  }
}

}  // namespace

int main(int argc, char** argv) {
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
  app.add_option("--results", o.results, "Captions to score: COCO results [{\"image_id\", \"caption\"}]")
      ->check(CLI::ExistingFile);
  app.add_option("--refs", o.refs, "References: COCO annotations, or a Karpathy split file with --split")
      ->check(CLI::ExistingFile);
  app.add_option("--split", o.split, "With a Karpathy file: the split to use (test, val, train, restval)");
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
  cli::add_common_options(app, common);

  CorrelateOptions c;
  CLI::App* correlate = app.add_subcommand(
      "correlate",
      "Kendall tau between each metric and human judgements on Flickr8k, as clipscore reports it: tau-c on\n"
      "Flickr8k-Expert (3 ratings per pair, pairs whose caption is one of the image's references skipped),\n"
      "tau-b on Flickr8k-CrowdFlower (fraction of yes votes). CLIP metrics need --clip and --images.");
  correlate->add_option("--dataset", c.dataset, "flickr8k-expert | flickr8k-cf")
      ->required()->check(CLI::IsMember({"flickr8k-expert", "flickr8k-cf"}));
  correlate->add_option("--root", c.root, "Folder with Flickr8k.token.txt and the annotation files (or Flickr8k_text/)")
      ->required()->check(CLI::ExistingDirectory);
  correlate->add_option("--clip", c.clip, "CLIP model for CLIP-S / RefCLIP-S (and aCLIP-S / RefaCLIP-S with --run)");
  correlate->add_option("--images", c.images, "Flickr8k image folder (Flicker8k_Dataset/), needed with --clip");
  correlate->add_option("--run", c.run, "Run directory whose W gives aCLIP-S / RefaCLIP-S")->check(CLI::ExistingDirectory);
  correlate->add_option("--prefix", c.prefix, "Text prefix for CLIP text embeddings")->capture_default_str();
  correlate->add_option("--json", c.json_out, "Write the correlations as JSON");
  correlate->add_flag("--force", c.force, "Overwrite an existing --json");

  return cli::run(app, argc, argv, [&] {
    c.threads = common.threads;
    if (correlate->parsed()) return run_correlate(c, o.clip_weight);
    if (o.results.empty() || o.refs.empty()) throw UsageError("--results and --refs are required (or use: correlate)");
    const auto wanted = parse_metrics(o.metrics_list);
    const bool plain = wanted.count("clip-s") || wanted.count("refclip-s");
    const bool aligned = wanted.count("aclip-s") || wanted.count("refaclip-s");
    const bool with_refs = wanted.count("refclip-s") || wanted.count("refaclip-s");
    const bool from_model = !o.embed.clip.empty() || !o.images.empty();
    if (from_model) {
      if (!o.image_embeddings.empty() || !o.image_ids.empty() || !o.candidate_embeddings.empty() ||
          !o.reference_embeddings.empty())
        throw UsageError("give either --clip and --images (embed here) or --image-embeddings, --image-ids, "
                         "--candidate-embeddings, --reference-embeddings (precomputed), not both");
      if (o.embed.clip.empty() || o.images.empty()) throw UsageError("embedding for the CLIP metrics needs both --clip and --images");
      if (!plain && !aligned)
        throw UsageError("--clip and --images serve the CLIP metrics: add clip-s, refclip-s, aclip-s or refaclip-s to --metrics");
    } else if (app.count("--prefix") > 0) {
      throw UsageError("--prefix applies to --clip (precomputed embeddings carry their prefix already)");
    }
    io::check_output_plan({{o.results, o.refs, o.image_embeddings, o.image_ids, o.candidate_embeddings,
                            o.reference_embeddings, o.run, o.mapping, o.images, o.embed.clip, o.meteor_jar, o.spice_jar},
                           {o.json_out, o.per_image_out},
                           {},
                           o.force});

    // Results and references, matched by image id.
    const auto results = data::read_results(o.results);
    if (results.empty()) throw InputError(o.results + ": no results to score");
    const auto refs = data::read_references(o.refs, o.split.empty() ? std::nullopt : std::optional(o.split));
    std::vector<metrics::ImageCaptions> images;
    for (const auto& r : results) {
      auto it = refs.captions.find(r.key);
      if (it == refs.captions.end())
        throw InputError(o.results + ": image id " + r.key + " has no references in " + o.refs);
      if (it->second.empty()) throw InputError(o.refs + ": image " + r.key + " has no reference captions");
      images.push_back({r.caption, it->second});
    }
    if (!o.no_tokenize) {
      try {
        metrics::ptb_tokenize_captions(images);
      } catch (const std::invalid_argument& e) {
        throw InputError(o.results + " / " + o.refs + ": " + e.what());
      }
    }
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

    // The CLIP metrics' embeddings (and W) before any scoring: embedding is the slow part,
    // and a missing image or a bad mapping should not surface after METEOR and SPICE ran.
    std::optional<cli::ClipEmbeddings> clip;
    std::optional<io::FloatMatrix> w;
    if (plain || aligned) {
      if (!from_model && (o.image_embeddings.empty() || o.candidate_embeddings.empty()))
        throw UsageError("CLIP metrics need --clip and --images, or --image-embeddings and --candidate-embeddings "
                         "(see recap-embed)");
      if (!from_model && with_refs && o.reference_embeddings.empty())
        throw UsageError("refclip-s / refaclip-s need --reference-embeddings");
      if (aligned && o.run.empty() && o.mapping.empty()) throw UsageError("aclip-s / refaclip-s need --run or --mapping");
      if (aligned) w = align::load_mapping(o.mapping.empty() ? o.run : o.mapping);
      if (from_model) {
        o.embed.threads = common.threads;
        o.embed.verbose = common.verbose;
        clip = cli::embed_for_clip_scores({o.embed, o.images, o.prefix}, results, refs, with_refs);
      } else {
        clip = cli::read_clip_embeddings(
            {o.image_embeddings, o.image_ids, o.candidate_embeddings, o.reference_embeddings, o.refs}, results, refs,
            with_refs);
      }
      if (clip->images.cols != clip->candidates.cols && plain)
        throw InputError((from_model ? o.embed.clip : o.image_embeddings) + ": dimension " +
                         std::to_string(clip->images.cols) + " differs from the candidates' " +
                         std::to_string(clip->candidates.cols));
    }

    std::vector<Score> scores;
    std::map<std::string, std::string> unavailable;
    std::optional<metrics::EncodedCorpus> encoded;
    if (wanted.count("bleu") || wanted.count("cider")) encoded.emplace(images);
    if (wanted.count("bleu")) {
      auto stats = std::make_shared<std::vector<metrics::BleuStats>>(metrics::bleu_stats(*encoded));
      const auto b = metrics::bleu_scores(*stats);
      for (int n = 0; n < 4; ++n)
        scores.push_back({"Bleu_" + std::to_string(n + 1), b[n].corpus, b[n].per_image,
                          [stats, n](const std::vector<std::size_t>& rows) { return metrics::corpus_bleu(*stats, rows)[n]; },
                          std::nullopt});
    }
    if (wanted.count("rouge")) {
      const auto r = metrics::rouge_l(images);
      scores.push_back({"ROUGE_L", r.corpus, r.per_image, {}, std::nullopt});
    }
    if (wanted.count("cider")) {
      const auto c = metrics::cider_d(*encoded);
      scores.push_back({"CIDEr", c.corpus, c.per_image, {}, std::nullopt});
    }
    std::vector<std::string> names;
    for (const auto& r : results) names.push_back(r.key);
    for (const auto& [metric, key, jar, fn] :
         {std::tuple{"meteor", "METEOR", o.meteor_jar, &metrics::meteor}, std::tuple{"spice", "SPICE", o.spice_jar, &metrics::spice}}) {
      if (!wanted.count(metric)) continue;
      metrics::JavaScorerOptions jo;
      jo.java = o.java;
      jo.jar = jar;
      jo.timeout_seconds = o.java_timeout;
      const auto s = fn(images, names, jo);
      if (s.available)
        scores.push_back({key, s.score.corpus, s.score.per_image, {}, std::nullopt});
      else
        unavailable[key] = s.reason;
    }

    // CLIP-based metrics.
    if (clip) {
      auto add = [&](const std::string& name, const std::string& ref_name, const io::FloatMatrix& image_side) {
        const auto s = metrics::clip_scores(image_side, clip->candidates, clip->references, clip->reference_rows,
                                            o.clip_weight);
        if (wanted.count(name == "CLIP-S" ? "clip-s" : "aclip-s"))
          scores.push_back({name, s.clip_s, s.clip_s_per_image, {}, std::nullopt});
        if (s.has_ref && wanted.count(ref_name == "RefCLIP-S" ? "refclip-s" : "refaclip-s"))
          scores.push_back({ref_name, s.ref_clip_s, s.ref_clip_s_per_image, {}, std::nullopt});
      };
      if (plain) add("CLIP-S", "RefCLIP-S", clip->images);
      if (aligned) {
        io::FloatMatrix x = clip->images;
        normalize_rows(x);  // runs fit on normalised rows by default; cosines ignore the scale otherwise
        add("aCLIP-S", "RefaCLIP-S", align::apply_map(x, *w, true));
      }
    }

    if (o.bootstrap > 0) {
      std::vector<metrics::ResampledScore> fns;
      for (auto& s : scores) fns.push_back(s.resample ? s.resample : metrics::mean_of(s.per_image));
      const auto intervals = metrics::bootstrap_intervals(images.size(), o.bootstrap, o.seed, fns);
      for (std::size_t i = 0; i < scores.size(); ++i) scores[i].interval = intervals[i];
    }

    // Terminal table, then files.
    std::printf("%-12s %10s%s\n", "metric", "score", o.bootstrap > 0 ? "   95% CI" : "");
    nlohmann::json json = nlohmann::json::object();
    for (const auto& s : scores) {
      if (s.interval)
        std::printf("%-12s %10.4f   [%.4f, %.4f]\n", s.name.c_str(), s.value, s.interval->first, s.interval->second);
      else
        std::printf("%-12s %10.4f\n", s.name.c_str(), s.value);
      json[s.name] = s.value;
      if (s.interval) json[s.name + "_95ci"] = {s.interval->first, s.interval->second};
    }
    for (const auto& [name, reason] : unavailable) {
      std::printf("%-12s %10s   (%s)\n", name.c_str(), "n/a", reason.c_str());
      json["unavailable"][name] = reason;
    }
    std::printf("%zu images\n", images.size());
    if (!o.per_image_out.empty()) {
      std::vector<nlohmann::json> lines;
      for (std::size_t i = 0; i < results.size(); ++i) {
        nlohmann::json line = {{"image_id", results[i].image_id}, {"caption", results[i].caption}};
        for (const auto& s : scores) line[s.name] = s.per_image[i];
        lines.push_back(std::move(line));
      }
      io::write_jsonl(o.per_image_out, lines);
    }
    if (!o.json_out.empty()) io::write_json(o.json_out, json);
  });
}
