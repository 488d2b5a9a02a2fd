#pragma once
// Pieces every training loop of src/train shares (private to src/train).
#include <torch/torch.h>

#include <memory>

namespace recap::train {

// AdamW as OpenCLIP trains CLIP: weight decay on matrices only (not on gains, biases or
// the temperature), betas (0.9, 0.98), eps 1e-6.
std::unique_ptr<torch::optim::AdamW> make_adamw(torch::nn::Module& model, double learning_rate, double weight_decay);
void set_learning_rate(torch::optim::Optimizer& optimizer, double learning_rate);

}  // namespace recap::train
