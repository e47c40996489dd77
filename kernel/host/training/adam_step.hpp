#pragma once
// The optimisation step both training loops share: pretraining's (Trainer) and an
// evaluator's (wb::Optimiser, evaluator_optimiser.hpp). Between begin() and update() the
// caller runs its backward passes; update() clips and applies the fused Adam.
#include <vector>

#include <torch/serialize/archive.h>
#include <torch/types.h>

#include "training/fused_adam.hpp"

namespace wb {

class AdamStep {
 public:
  // Adam over `params` with the paper's betas (0.9, 0.95) and no weight decay; the
  // global gradient norm clipped to `grad_clip` before each update (0 = never).
  AdamStep(std::vector<torch::Tensor> params, double grad_clip);

  // Opens a step at rate `lr`: gradients set to none (nothing filled or kept between
  // steps).
  void begin(double lr);
  // Closes it after the backward passes: clipping, then Adam.
  void update();

  // The same step with its rate and skip on the device, for a CUDA graph to capture
  // (training.cuda_graph): gradients set to none, then after the backward clipping and
  // Adam with the rate read from `lr` and skipped where `found_inf` is 1
  // (FusedAdam::step_on_device); count_step() after each applied update keeps the saved
  // step counts.
  void clear_grads();
  void update_on_device(const torch::Tensor& lr, const torch::Tensor& found_inf);
  void count_step() { adam_.count_step(); }

  // The tensors it trains, in the order given.
  const std::vector<torch::Tensor>& params() const { return params_; }

  // Adam's moments and step counts, as torch::optim::Adam saves and loads them.
  void save(torch::serialize::OutputArchive& archive) const;
  void load(torch::serialize::InputArchive& archive);

 private:
  void clip();  // the gradients' global norm clipped to grad_clip_ (where above 0)
  std::vector<torch::Tensor> params_;
  double grad_clip_;
  FusedAdam adam_;
};

}  // namespace wb
