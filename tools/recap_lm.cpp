// recap-lm: run a T5 / FLAN-T5 folder the way Hugging Face's generate() does, on token ids
// (.npy) or text: generated sequences as JSON, teacher-forced logits as .npy.
#include <chrono>
#include <cstdio>

#include "cli_support.h"
#include "model_options.h"
#include "lm_options.h"
#include "recap/common/error.h"
#include "recap/io/atomic_file.h"
#include "recap/io/json_file.h"
#include "recap/io/npy.h"
#include "recap/io/output_rule.h"
#include "recap/models/t5_model.h"

namespace fs = std::filesystem;
using namespace recap;

namespace {

models::IdRows read_id_rows(const fs::path& path, const char* what) {
  std::vector<std::int64_t> shape;
  auto values = io::read_npy_int64(path, &shape);
  if (shape.size() != 2 || shape[0] <= 0 || shape[1] <= 0) {
    throw InputError(path.string() + ": " + what + " must be a non-empty 2-D integer array (rows x tokens)");
  }
  models::IdRows rows(shape[0], shape[1]);
  rows.values = std::move(values);
  return rows;
}

std::vector<std::string> read_prompts(const fs::path& path) {
  std::vector<std::string> lines;
  for (auto& line : io::read_lines(path))
    if (!line.empty()) lines.push_back(std::move(line));
  if (lines.empty()) throw InputError(path.string() + ": no prompts (one per line expected)");
  return lines;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Run a T5 / FLAN-T5 model (Hugging Face folder: config.json, model.safetensors, spiece.model).\n"
               "Generation writes {\"sequences\": [[ids]]} as transformers' generate() returns them (decoder start\n"
               "token first, padded after end-of-sequence), one row per returned sequence in input order;\n"
               "--decoder-input-ids with --logits-out writes teacher-forced logits (rows x length x vocab).",
               "recap-lm"};
  // A flag given twice takes its last value, so scripts can append overrides.
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  cli::CommonOptions common;
  cli::LmFlags flags;
  fs::path lm_dir, input_ids, mask_path, decoder_ids, logits_out, out_path, prompts_file;
  std::string prompt, device = "cpu", dtype = "float32";
  int num_return = 1, batch_size = 32;
  std::int64_t max_input_tokens = 512;
  bool force = false;
  app.add_option("--lm", lm_dir, "T5 model folder")->required();
  auto* inputs = app.add_option_group("input", "exactly one input");
  inputs->add_option("--input-ids", input_ids, "Encoder input ids, rows x tokens integer .npy (padded with 0)");
  inputs->add_option("--prompt", prompt, "One prompt text");
  inputs->add_option("--prompts", prompts_file, "UTF-8 file, one prompt per line");
  inputs->require_option(1);
  app.add_option("--attention-mask", mask_path, "With --input-ids: 1 for tokens, 0 for padding (default: ids != 0)");
  app.add_option("--decoder-input-ids", decoder_ids, "Teacher forcing: decoder ids (rows x length .npy)");
  app.add_option("--logits-out", logits_out, "With --decoder-input-ids: logits .npy (rows x length x vocab float32)");
  app.add_option("--out", out_path, "Generated sequences JSON");
  app.add_option("--num-return-sequences", num_return, "Sequences returned per input (<= beams, or samples)")
      ->check(cli::kPositive)->capture_default_str();
  app.add_option("--batch-size", batch_size, "Inputs per model call")->check(cli::kPositive)->capture_default_str();
  app.add_option("--max-input-tokens", max_input_tokens, "Text prompts are truncated to this many tokens")
      ->check(cli::kPositive)->capture_default_str();
  cli::add_device_options(app, device, dtype);
  app.add_flag("--force", force, "Overwrite existing outputs");
  cli::add_generation_options(app, flags);
  cli::add_common_options(app, common);

  return cli::run(app, argc, argv, [&] {
    const bool teacher = !decoder_ids.empty();
    if (teacher != !logits_out.empty()) throw UsageError("--decoder-input-ids and --logits-out go together");
    if (!teacher && out_path.empty()) throw UsageError("--out is required for generation");
    if (!mask_path.empty() && input_ids.empty()) throw UsageError("--attention-mask needs --input-ids");
    io::check_output_plan({{lm_dir, input_ids, mask_path, decoder_ids, prompts_file},
                           {out_path, teacher ? logits_out : fs::path()},
                           {},
                           force});
    auto options = cli::generation_options(flags, flags.decoding);
    options.num_return_sequences = num_return;
    options.validate();

    models::T5LoadOptions load;
    load.device = models::parse_device(device);
    load.precision = models::parse_precision(dtype);
    load.threads = common.threads;
    const auto lm = models::T5Model::load(lm_dir, load);
    if (common.verbose) cli::note(lm.info().describe());

    models::IdRows ids, mask;
    std::vector<std::string> prompts;
    if (!input_ids.empty()) {
      ids = read_id_rows(input_ids, "input ids");
      if (!mask_path.empty()) {
        mask = read_id_rows(mask_path, "attention mask");
      } else {  // as transformers infers it: padding is the pad id
        mask = models::IdRows(ids.rows, ids.cols);
        for (std::size_t i = 0; i < ids.values.size(); ++i) mask.values[i] = ids.values[i] != lm.info().pad_token_id;
      }
    } else {
      if (app.count("--prompt") > 0 && prompt.find_first_not_of(" \t\r\n") == std::string::npos)
        throw UsageError("--prompt is empty");
      prompts = app.count("--prompt") > 0 ? std::vector<std::string>{prompt} : read_prompts(prompts_file);
      std::vector<std::vector<std::int64_t>> lists;
      for (const auto& p : prompts) lists.push_back(lm.tokenizer().encode(p, true, max_input_tokens));
      ids = models::IdRows::from_lists(lists, lm.info().pad_token_id, &mask);
    }

    if (teacher) {
      const auto dec = read_id_rows(decoder_ids, "decoder input ids");
      const auto logits = lm.logits(ids, &mask, dec);
      io::write_npy(logits_out, logits.data(), {ids.rows, dec.cols, lm.info().vocab_size});
      std::printf("teacher-forced logits %lld x %lld x %lld -> %s\n", static_cast<long long>(ids.rows),
                  static_cast<long long>(dec.cols), static_cast<long long>(lm.info().vocab_size), logits_out.c_str());
      if (out_path.empty()) return;
    }

    // Batches of inputs; the sampling stream of each input follows its row number.
    std::vector<std::vector<std::int64_t>> sequences;
    std::vector<float> scores;
    // The generation's own time, as recap-embed -v reports the model's: loading and
    // writing are left out, so that a GPU run is not measured by its CUDA start-up.
    const auto generation_start = std::chrono::steady_clock::now();
    for (std::int64_t first = 0; first < ids.rows; first += batch_size) {
      const auto count = std::min<std::int64_t>(batch_size, ids.rows - first);
      models::IdRows part(count, ids.cols), part_mask(count, ids.cols);
      std::copy(ids.row(first), ids.row(first) + count * ids.cols, part.values.begin());
      std::copy(mask.row(first), mask.row(first) + count * ids.cols, part_mask.values.begin());
      auto o = options;
      o.seed_offset = static_cast<std::uint64_t>(first);
      const auto g = lm.generate(part, &part_mask, o);
      for (std::int64_t r = 0; r < g.sequences.rows; ++r)
        sequences.emplace_back(g.sequences.row(r), g.sequences.row(r) + g.sequences.cols);
      scores.insert(scores.end(), g.scores.begin(), g.scores.end());
      if (ids.rows > batch_size) cli::note("generated " + std::to_string(first + count) + "/" + std::to_string(ids.rows));
    }
    if (common.verbose) {
      char text[120];
      std::snprintf(text, sizeof text, "generated %zu sequences in %.3f s of model time", sequences.size(),
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - generation_start).count());
      cli::note(text);
    }
    // One padded matrix across batches, as a single generate() call returns it.
    const auto padded = models::IdRows::from_lists(sequences, lm.info().pad_token_id);
    nlohmann::json doc;
    doc["sequences"] = nlohmann::json::array();
    for (std::int64_t r = 0; r < padded.rows; ++r)
      doc["sequences"].push_back(std::vector<std::int64_t>(padded.row(r), padded.row(r) + padded.cols));
    doc["scores"] = scores;
    doc["decoding"] = models::decoding_name(options.decoding);
    if (lm.has_tokenizer()) {
      doc["texts"] = nlohmann::json::array();
      for (std::int64_t r = 0; r < padded.rows; ++r)
        doc["texts"].push_back(lm.tokenizer().decode(padded.until_eos(r, lm.info().eos_token_id)));
    }
    io::write_json(out_path, doc);
    if (!prompts.empty()) {
      for (std::int64_t r = 0; r < padded.rows; ++r) {
        std::printf("%s\n", doc["texts"][r].get<std::string>().c_str());
      }
    } else {
      std::printf("generated %lld sequences -> %s\n", static_cast<long long>(padded.rows), out_path.c_str());
    }
  });
}
