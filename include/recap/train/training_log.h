#pragma once
// What a training run reports: the loss at each logged step and the wall time, saved
// beside the weights (training.json) so that a retrained model can be compared with the
// shipped one step by step.
#include <functional>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace recap::train {

struct TrainingLog {
  std::vector<std::pair<int, double>> losses;  // (step, mean loss since the previous entry)
  double seconds = 0;

  nlohmann::json to_json() const;
};

// Called after each logged step with (step, steps, mean loss since the last call).
using ProgressCallback = std::function<void(int, int, double)>;

// Learning rate at `step` of `steps`: linear warm-up, then cosine decay to 10% of `peak`.
double scheduled_learning_rate(int step, int steps, int warmup_steps, double peak);

}  // namespace recap::train
