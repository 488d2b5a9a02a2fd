#pragma once
// Pieces every training loop of src/train shares (private to src/train).
#include <torch/torch.h>

#include <functional>
#include <memory>

#include "recap/demo/world.h"
#include "recap/train/training_log.h"
#include "recap/vision/preprocess.h"

namespace recap::train {

// AdamW as OpenCLIP trains CLIP: weight decay on matrices only (not on gains, biases or
// the temperature), betas (0.9, 0.98), eps 1e-6.
std::unique_ptr<torch::optim::AdamW> make_adamw(torch::nn::Module& model, double learning_rate, double weight_decay);
void set_learning_rate(torch::optim::Optimizer& optimizer, double learning_rate);

// `scene` drawn at `size` px and preprocessed exactly as recap-embed preprocesses a decoded
// picture file, into out[0 .. 3 * size * size).
void draw_preprocessed(const demo::Scene& scene, int size, const vision::PreprocessConfig& preprocess, float* out);

struct StepSchedule {
  int steps = 0, warmup_steps = 0, log_every = 1;
  double learning_rate = 0;  // peak (scheduled_learning_rate)
};
// The loop every training here runs: per step the scheduled learning rate, the loss of
// one batch from `loss_of_step(step)` (steps count from 1), backward, an optimizer step;
// the mean loss since the last entry logged every `log_every` steps and at the end.
TrainingLog run_steps(torch::optim::Optimizer& optimizer, const StepSchedule& schedule,
                      const std::function<torch::Tensor(int)>& loss_of_step, const ProgressCallback& progress);

}  // namespace recap::train
