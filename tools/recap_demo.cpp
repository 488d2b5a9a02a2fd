// recap-demo: the built-in demo world and its models.
//   recap-demo world --out DIR   draws the world's pictures and writes them with their
//                                captions as a Karpathy-style dataset (recap/demo/world.h);
//   recap-demo train --out DIR   trains the demo's small CLIP and T5 from a seed
//                                (recap/train/demo_models.h); the project ships the result
//                                in models/demo, which scripts/demo.sh uses;
//   recap-demo report --out DIR  prints the table of a scripts/demo.sh folder
//                                (recap/demo/demo_report.h).
#include <cstdio>

#include "cli_support.h"
#include "recap/demo/demo_report.h"
#include "recap/demo/world.h"
#include "recap/train/demo_models.h"

namespace fs = std::filesystem;
using namespace recap;

int main(int argc, char** argv) {
  CLI::App app{"The built-in demo: a world of drawn shapes with captions, and the small CLIP and T5 models trained on it.",
               "recap-demo"};
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.require_subcommand(1);
  cli::CommonOptions common;
  cli::add_common_options(app, common);

  demo::WorldOptions world;
  fs::path world_out;
  bool world_force = false;
  auto* world_cmd = app.add_subcommand("world", "Draw the demo world and write it as a Karpathy-style dataset: "
                                                 "DIR/dataset_demo.json, DIR/images/, DIR/world.json");
  world_cmd->add_option("--out", world_out, "Output folder")->required();
  world_cmd->add_option("--seed", world.seed, "Seed of every picture and caption")->capture_default_str();
  world_cmd->add_option("--image-size", world.image_size, "Picture side in pixels")->check(CLI::Range(32, 512))->capture_default_str();
  world_cmd->add_option("--train", world.train, "Training pictures")->check(CLI::Range(1, 1000000))->capture_default_str();
  world_cmd->add_option("--val", world.val, "Validation pictures")->check(CLI::Range(1, 1000000))->capture_default_str();
  world_cmd->add_option("--test", world.test, "Test pictures")->check(CLI::Range(1, 1000000))->capture_default_str();
  world_cmd->add_option("--captions", world.captions_per_image, "Captions per picture")->check(CLI::Range(1, 20))->capture_default_str();
  world_cmd->add_flag("--force", world_force, "Replace an existing world folder");

  train::DemoModelOptions models;
  fs::path models_out;
  bool models_force = false;
  auto* train_cmd = app.add_subcommand("train", "Train the demo's CLIP and T5 from a seed into DIR/clip and DIR/t5 "
                                                 "(Hugging Face layouts), with DIR/training.json");
  train_cmd->add_option("--out", models_out, "Output folder")->required();
  train_cmd->add_option("--seed", models.seed, "Seed of the tokenizers' corpus, the models' initialisation and data")->capture_default_str();
  train_cmd->add_option("--clip-steps", models.clip.steps, "CLIP training steps")->check(CLI::Range(1, 10000000))->capture_default_str();
  train_cmd->add_option("--clip-batch-size", models.clip.batch_size, "CLIP batch (pictures and captions)")->check(CLI::Range(2, 65536))->capture_default_str();
  train_cmd->add_option("--t5-steps", models.t5.steps, "T5 training steps")->check(CLI::Range(1, 10000000))->capture_default_str();
  train_cmd->add_option("--t5-pool", models.t5_pool, "Scenes whose prompts T5 learns from")->check(CLI::Range(10, 1000000))->capture_default_str();
  train_cmd->add_option("--log-every", models.clip.log_every, "Steps between loss lines")->check(CLI::Range(1, 1000000))->capture_default_str();
  train_cmd->add_flag("--force", models_force, "Replace an existing models folder made by recap-demo train");

  fs::path report_folder;
  auto* report_cmd = app.add_subcommand("report", "Print the table of a scripts/demo.sh output folder");
  report_cmd->add_option("--out", report_folder, "The folder scripts/demo.sh wrote")->required();

  return cli::run(app, argc, argv, [&] {
    if (report_cmd->parsed()) {
      std::fputs(demo::demo_report(report_folder).c_str(), stdout);
      return;
    }
    if (world_cmd->parsed()) {
      const auto summary = demo::write_world(world_out, world, world_force);
      std::printf("%d pictures, %d captions: %s (images in %s)\n", summary.images, summary.captions,
                  summary.dataset_json.string().c_str(), summary.image_folder.string().c_str());
      return;
    }
    models.threads = common.threads;
    models.t5.log_every = models.clip.log_every;
    const auto report = train::train_demo_models(models_out, models, models_force,
                                                 [](const std::string& stage, const std::string& message) {
                                                   cli::note(stage + ": " + message);
                                                 });
    std::printf("trained in %.0f s: %s/clip, %s/t5 (losses and settings in %s/training.json)\n", report.seconds,
                models_out.string().c_str(), models_out.string().c_str(), models_out.string().c_str());
  });
}
