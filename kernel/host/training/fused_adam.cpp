#include "training/fused_adam.hpp"

#include <ATen/ops/_foreach_add.h>
#include <ATen/ops/_fused_adam.h>
#include <torch/utils.h>

namespace wb {

FusedAdam::Lists FusedAdam::gather(torch::optim::OptimizerParamGroup& group) {
  Lists l;
  for (auto& p : group.params()) {
    if (!p.grad().defined()) continue;
    auto& slot = state_[p.unsafeGetTensorImpl()];
    if (!slot) {
      auto fresh = std::make_unique<torch::optim::AdamParamState>();
      fresh->step(0);
      fresh->exp_avg(torch::zeros_like(p, torch::MemoryFormat::Preserve));
      fresh->exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
      slot = std::move(fresh);
    }
    auto& st = static_cast<torch::optim::AdamParamState&>(*slot);
    // The kernel reads the step from a tensor per parameter: made once from the
    // state's count (a resumed run's too), then all advanced by one call per step
    // rather than a fill per parameter and step.
    auto& count = steps_[p.unsafeGetTensorImpl()];
    if (!count.defined())
      count = torch::full({}, static_cast<double>(st.step()), p.options().dtype(torch::kFloat32));
    l.states.push_back(&st);
    l.params.push_back(p);
    l.grads.push_back(p.grad());
    l.exp_avgs.push_back(st.exp_avg());
    l.exp_avg_sqs.push_back(st.exp_avg_sq());
    l.steps.push_back(count);
  }
  return l;
}

namespace {
// The device's step counts advanced and one call of the fused kernel over `l`, at rate
// `lr` (a number, or a float32 scalar tensor on the device), skipped where `found_inf`
// is 1.
template <class Rate>
void fused_update(const FusedAdam::Lists& l, const torch::optim::AdamOptions& o, const Rate& lr,
                  const std::optional<torch::Tensor>& found_inf) {
  at::_foreach_add_(l.steps, 1.0);
  TORCH_CHECK(!o.amsgrad(), "FusedAdam: amsgrad is not used by the workbench");
  at::_fused_adam_(l.params, l.grads, l.exp_avgs, l.exp_avg_sqs, /*max_exp_avg_sqs=*/{}, l.steps,
                   lr, std::get<0>(o.betas()), std::get<1>(o.betas()), o.weight_decay(), o.eps(),
                   /*amsgrad=*/false, /*maximize=*/false, /*grad_scale=*/{}, found_inf);
}
}  // namespace

torch::Tensor FusedAdam::step(LossClosure closure) {
  torch::NoGradGuard no_grad;
  torch::Tensor loss;
  if (closure) {
    torch::AutoGradMode grad(true);
    loss = closure();
  }
  for (auto& group : param_groups()) {
    const auto& o = static_cast<const torch::optim::AdamOptions&>(group.options());
    const Lists l = gather(group);
    if (l.params.empty()) continue;
    for (auto* st : l.states) st->step(st->step() + 1);
    fused_update(l, o, o.lr(), std::nullopt);
  }
  return loss;
}

void FusedAdam::step_on_device(const torch::Tensor& lr, const torch::Tensor& found_inf) {
  torch::NoGradGuard no_grad;
  for (auto& group : param_groups()) {
    const auto& o = static_cast<const torch::optim::AdamOptions&>(group.options());
    const Lists l = gather(group);
    if (!l.params.empty()) fused_update(l, o, lr, found_inf);
  }
}

void FusedAdam::count_step() {
  for (auto& group : param_groups())
    for (auto* st : gather(group).states) st->step(st->step() + 1);
}

void FusedAdam::load(torch::serialize::InputArchive& archive) {
  torch::optim::Adam::load(archive);
  steps_.clear();
}

}  // namespace wb
