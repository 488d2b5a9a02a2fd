#include "training_support.h"

#include <cmath>

#include "recap/train/training_log.h"

namespace recap::train {

nlohmann::json TrainingLog::to_json() const {
  nlohmann::json steps = nlohmann::json::array();
  for (const auto& [step, loss] : losses) steps.push_back({{"step", step}, {"loss", loss}});
  return {{"losses", steps}, {"seconds", seconds}};
}

double scheduled_learning_rate(int step, int steps, int warmup_steps, double peak) {
  if (step <= warmup_steps) return peak * step / std::max(1, warmup_steps);
  const double progress = double(step - warmup_steps) / std::max(1, steps - warmup_steps);
  return peak * (0.1 + 0.9 * 0.5 * (1 + std::cos(M_PI * progress)));
}

std::unique_ptr<torch::optim::AdamW> make_adamw(torch::nn::Module& model, double learning_rate, double weight_decay) {
  std::vector<torch::Tensor> decay, no_decay;
  for (auto& p : model.parameters()) (p.dim() >= 2 ? decay : no_decay).push_back(p);
  const auto options = torch::optim::AdamWOptions(learning_rate).betas({0.9, 0.98}).eps(1e-6);
  auto with_decay = [&](double decay_rate) {
    return std::make_unique<torch::optim::AdamWOptions>(torch::optim::AdamWOptions(options).weight_decay(decay_rate));
  };
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(decay, with_decay(weight_decay));
  groups.emplace_back(no_decay, with_decay(0));
  return std::make_unique<torch::optim::AdamW>(groups, *with_decay(weight_decay));
}

void draw_preprocessed(const demo::Scene& scene, int size, const vision::PreprocessConfig& preprocess, float* out) {
  vision::DecodedImage image;
  image.width = image.height = size;
  image.channels = 3;
  image.pixels = demo::draw_scene(scene, size);
  vision::preprocess(image, preprocess, out);
}

void set_learning_rate(torch::optim::Optimizer& optimizer, double learning_rate) {
  for (auto& group : optimizer.param_groups()) group.options().set_lr(learning_rate);
}

TrainingLog run_steps(torch::optim::Optimizer& optimizer, const StepSchedule& schedule,
                      const std::function<torch::Tensor(int)>& loss_of_step, const ProgressCallback& progress) {
  TrainingLog log;
  double loss_sum = 0;
  int loss_count = 0;
  for (int step = 1; step <= schedule.steps; ++step) {
    set_learning_rate(optimizer,
                      scheduled_learning_rate(step, schedule.steps, schedule.warmup_steps, schedule.learning_rate));
    auto loss = loss_of_step(step);
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();
    loss_sum += loss.item<double>();
    ++loss_count;
    if (step % schedule.log_every == 0 || step == schedule.steps) {
      log.losses.emplace_back(step, loss_sum / loss_count);
      if (progress) progress(step, schedule.steps, loss_sum / loss_count);
      loss_sum = 0;
      loss_count = 0;
    }
  }
  return log;
}

}  // namespace recap::train
