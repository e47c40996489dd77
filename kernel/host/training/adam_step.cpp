#include "training/adam_step.hpp"

#include <torch/nn/utils/clip_grad.h>

namespace wb {

namespace {
torch::optim::AdamOptions paper_adam() {
  return torch::optim::AdamOptions(0.0).betas({0.9, 0.95}).weight_decay(0.0);
}
}  // namespace

AdamStep::AdamStep(std::vector<torch::Tensor> params, double grad_clip)
    : params_(std::move(params)), grad_clip_(grad_clip), adam_(params_, paper_adam()) {}

void AdamStep::begin(double lr) {
  for (auto& group : adam_.param_groups())
    static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
  adam_.zero_grad(/*set_to_none=*/true);
}

void AdamStep::update() {
  if (grad_clip_ > 0) torch::nn::utils::clip_grad_norm_(params_, grad_clip_);
  adam_.step();
}

void AdamStep::save(torch::serialize::OutputArchive& archive) const {
  adam_.save(archive);
}

void AdamStep::load(torch::serialize::InputArchive& archive) {
  adam_.load(archive);
}

}  // namespace wb
