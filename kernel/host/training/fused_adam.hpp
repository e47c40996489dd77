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
  // Adam's load, then the step tensors are made again from the loaded counts.
  void load(torch::serialize::InputArchive& archive) override;

 private:
  // The kernel reads each parameter's step count from a float tensor; one per
  // parameter, made from AdamParamState::step() on its first step (and after a load),
  // then advanced with it, so nothing is allocated or filled per parameter and step.
  std::unordered_map<const void*, torch::Tensor> steps_;
};

}  // namespace wb
