#pragma once
// The host's wb::Optimiser (workbench/optimiser.hpp): an evaluator's training steps
// through AdamStep, the step pretraining takes, with the schedule of wb::learning_rate
// and the run's precision; its resumable state in one checked file.
#include <string>
#include <vector>

#include <workbench/optimiser.hpp>

#include "training/adam_step.hpp"

namespace wb {

class EvaluatorOptimiser : public Optimiser {
 public:
  // save() writes `state_path` (and its checksum record); resume() reads it.
  EvaluatorOptimiser(std::vector<torch::Tensor> params, OptimiserSpec spec, torch::Device device,
                     bool bfloat16, std::string state_path);

  double step(const std::function<torch::Tensor()>& loss) override;
  int64_t steps_done() const override { return steps_; }
  double lr() const override { return lr_; }
  void save(const TrainingState& state) override;
  bool resume(TrainingState* state) override;

 private:
  OptimiserSpec spec_;
  torch::Device device_;
  bool bfloat16_;
  std::string path_;
  AdamStep adam_;
  int64_t steps_ = 0;
  double lr_ = 0;
};

}  // namespace wb
