#pragma once
// Adam in one fused pass over every parameter: LibTorch's _fused_adam_ kernel (one
// vectorized loop per tensor updating the weight and both moments together, on the CPU
// and CUDA) instead of torch::optim::Adam's ten or so separate operations per tensor,
// each a pass over memory. Same update, same state (AdamParamState), so checkpoints
// save and load as torch::optim::Adam's do.
#include <unordered_map>

#include <torch/optim/adam.h>

namespace wb {

class FusedAdam : public torch::optim::Adam {
 public:
  FusedAdam(const std::vector<torch::Tensor>& params, torch::optim::AdamOptions options)
      : torch::optim::Adam(params, std::move(options)) {}
  torch::Tensor step(LossClosure closure = nullptr) override;
  // The same update with everything it reads on the device, for a step captured in a
  // CUDA graph: the rate from `lr` (a float32 scalar tensor), and no update at all where
  // `found_inf` (float32 scalar) is 1 (a non-finite loss). The counts AdamParamState
  // saves are host numbers a replayed graph never touches: count_step() advances them
  // after each update that was applied (the device's own counts advance in the graph).
  void step_on_device(const torch::Tensor& lr, const torch::Tensor& found_inf);
  void count_step();
  // Adam's load, then the step tensors are made again from the loaded counts.
  void load(torch::serialize::InputArchive& archive) override;

  // The parameters that have gradients, with their state (made on first use).
  struct Lists {
    std::vector<torch::optim::AdamParamState*> states;
    std::vector<torch::Tensor> params, grads, exp_avgs, exp_avg_sqs, steps;
  };

 private:
  Lists gather(torch::optim::OptimizerParamGroup& group);
  // The kernel reads each parameter's step count from a float tensor; one per
  // parameter, made from AdamParamState::step() on its first step (and after a load),
  // then advanced with it, so nothing is allocated or filled per parameter and step.
  std::unordered_map<const void*, torch::Tensor> steps_;
};

}  // namespace wb
