#include "checkpoint.hpp"

#include <ATen/autocast_mode.h>
#include <torch/autograd.h>
#include <torch/custom_class.h>
#include <workbench/precision.hpp>

namespace igpt {

namespace {

// The block's function, kept in the autograd context for the backward.
struct HeldFunction : torch::CustomClassHolder {
  explicit HeldFunction(BlockFn f) : fn(std::move(f)) {}
  BlockFn fn;
};

struct CheckpointFunction : torch::autograd::Function<CheckpointFunction> {
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx,
                                                const torch::Tensor& h, const torch::Tensor& normed,
                                                BlockFn fn) {
    ctx->save_for_backward({h, normed});
    // Whether the forward ran under the workbench's (bfloat16) autocast on h's device:
    // the recomputation runs under the same.
    ctx->saved_data["autocast"] = at::autocast::is_autocast_enabled(h.device().type());
    auto held = c10::make_intrusive<HeldFunction>(std::move(fn));
    ctx->saved_data["fn"] = c10::IValue::make_capsule(held);
    torch::NoGradGuard no_grad;  // nothing of the block is stored
    auto [h2, n2] = held->fn(h, normed);
    return {h2, n2};
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    auto h = saved[0].detach().requires_grad_(saved[0].requires_grad());
    auto normed = saved[1].detach().requires_grad_(saved[1].requires_grad());
    const auto held =
        c10::static_intrusive_pointer_cast<HeldFunction>(ctx->saved_data["fn"].toCapsule());
    torch::Tensor h2, n2;
    {
      torch::AutoGradMode grad(true);
      wb::BfloatAutocast autocast(h.device(), ctx->saved_data["autocast"].toBool());
      std::tie(h2, n2) = held->fn(h, normed);
    }
    // The outputs that carry a gradient, through the recomputed block: the parameters'
    // gradients accumulate into their .grad; the inputs' come back from here.
    std::vector<torch::Tensor> outs, gouts;
    if (grads[0].defined() && h2.requires_grad()) outs.push_back(h2), gouts.push_back(grads[0]);
    if (grads[1].defined() && n2.requires_grad()) outs.push_back(n2), gouts.push_back(grads[1]);
    if (!outs.empty()) torch::autograd::backward(outs, gouts);
    return {h.grad(), normed.grad(), torch::Tensor()};
  }
};

}  // namespace

std::pair<torch::Tensor, torch::Tensor> checkpointed(const BlockFn& fn, const torch::Tensor& h,
                                                     const torch::Tensor& normed) {
  if (!torch::GradMode::is_enabled()) return fn(h, normed);
  auto out = CheckpointFunction::apply(h, normed, fn);
  return {out[0], out[1]};
}

}  // namespace igpt
