#include "training/adam_step.hpp"

#include <ATen/ops/_foreach_mul.h>
#include <ATen/ops/_foreach_norm.h>

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
  clear_grads();
}

void AdamStep::update() {
  clip();
  adam_.step();
}

void AdamStep::clear_grads() {
  adam_.zero_grad(/*set_to_none=*/true);
}

void AdamStep::update_on_device(const torch::Tensor& lr, const torch::Tensor& found_inf) {
  clip();
  adam_.step_on_device(lr, found_inf);
}

// torch::nn::utils::clip_grad_norm_'s arithmetic, bit for bit (the norm of the
// gradients' norms, a single one taken as it is; coefficient max / (norm + 1e-6), at
// most 1), with the norm left on the device: clip_grad_norm_ returns it as a host
// number, a wait for the device each step and a read a captured graph cannot make.
void AdamStep::clip() {
  if (grad_clip_ <= 0) return;
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> grads;
  for (const auto& p : params_)
    if (p.grad().defined()) grads.push_back(p.grad());
  if (grads.empty()) return;
  auto norms = at::_foreach_norm(grads, 2);
  const auto norm = norms.size() == 1 ? norms[0] : torch::stack(norms).norm();
  at::_foreach_mul_(grads, torch::clamp_max(grad_clip_ / (norm + 1e-6), 1.0));
}

void AdamStep::save(torch::serialize::OutputArchive& archive) const {
  adam_.save(archive);
}

void AdamStep::load(torch::serialize::InputArchive& archive) {
  adam_.load(archive);
}

}  // namespace wb
