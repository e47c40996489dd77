#pragma once
// The host's optimisation step, for an evaluator that trains weights (fine-tuning): the
// step pretraining takes (the fused Adam with the paper's betas 0.9 / 0.95 and no
// weight decay, gradients set to none, optional clipping of the global gradient norm),
// its learning-rate schedule, the run's precision, and resumable state written as the
// trainer writes last.pt (atomically, with a checksum record). The plugin writes its
// loss; the host owns the loop's mechanics, so both training loops step alike.
#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include <torch/types.h>

#include <workbench/export.hpp>

namespace wb {

struct OptimiserSpec {
  double lr = 3e-4;          // the peak rate
  int64_t total_steps = 0;   // the schedule's length (cosine decays to 0 there)
  int64_t warmup_steps = 0;  // linear warm-up to `lr` over these first steps
  bool cosine = false;       // after the warm-up: cosine decay, or `lr` throughout
  double grad_clip = 0;      // the global gradient norm's limit; 0 = no clipping
};

// State besides the trained tensors and Adam's moments that an evaluator needs to go on
// where it stopped (its epoch, best weights so far, generator states), by name.
using TrainingState = std::map<std::string, torch::Tensor>;

class WB_API Optimiser {
 public:
  virtual ~Optimiser();

  // One step, the next of the schedule: `loss()` (a scalar tensor) is computed under
  // the run's precision (a wb::BfloatAutocast scope where the run trains in bfloat16),
  // its backward outside it, then clipping and Adam at the schedule's rate. Returns the
  // loss (the step's one device read). A loss that is not finite is an error naming
  // the step: the weights are left as they were before it.
  virtual double step(const std::function<torch::Tensor()>& loss) = 0;

  // Steps taken so far (resumed ones included), and the rate of the last one.
  virtual int64_t steps_done() const = 0;
  virtual double lr() const = 0;

  // Saves the trained tensors, Adam's state, the step count and `state` where the host
  // keeps this evaluation's progress (by its config, code and checkpoint); a run of the
  // same evaluation that was stopped picks it up with resume(). Overwrites the last save.
  virtual void save(const TrainingState& state) = 0;
  // Loads the last save into the trained tensors, Adam and `state`. False when there is
  // none (a damaged one is dropped with a warning: the evaluation starts over). The host
  // deletes the save once the evaluation has finished.
  virtual bool resume(TrainingState* state) = 0;
};

// Makes an optimiser over `params` (leaf tensors with requires_grad, on the run's
// device): given to an evaluator in EvalInputs::optimiser.
using OptimiserFactory =
    std::function<std::unique_ptr<Optimiser>(std::vector<torch::Tensor> params, OptimiserSpec)>;

}  // namespace wb
