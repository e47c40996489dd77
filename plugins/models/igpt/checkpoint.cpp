#include "checkpoint.hpp"

#include <ATen/autocast_mode.h>
#include <torch/autograd.h>
#include <torch/custom_class.h>

namespace igpt {

namespace {

// The autocast state of the forward, to run the recomputation under.
struct AutocastState {
  bool cpu = false, cuda = false;
  at::ScalarType cpu_dtype = at::kBFloat16, cuda_dtype = at::kBFloat16;
  static AutocastState now() {
    AutocastState s;
    s.cpu = at::autocast::is_autocast_enabled(at::kCPU);
    s.cuda = at::autocast::is_autocast_enabled(at::kCUDA);
    s.cpu_dtype = at::autocast::get_autocast_dtype(at::kCPU);
    s.cuda_dtype = at::autocast::get_autocast_dtype(at::kCUDA);
    return s;
  }
};

// Sets the autocast state for a scope and restores the previous one after.
class AutocastScope {
 public:
  explicit AutocastScope(const AutocastState& want) : saved_(AutocastState::now()) { apply(want); }
  ~AutocastScope() { apply(saved_); }

 private:
  static void apply(const AutocastState& s) {
    at::autocast::set_autocast_enabled(at::kCPU, s.cpu);
    at::autocast::set_autocast_enabled(at::kCUDA, s.cuda);
    at::autocast::set_autocast_dtype(at::kCPU, s.cpu_dtype);
    at::autocast::set_autocast_dtype(at::kCUDA, s.cuda_dtype);
  }
  AutocastState saved_;
};

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
    const auto state = AutocastState::now();
    ctx->saved_data["cpu"] = state.cpu;
    ctx->saved_data["cuda"] = state.cuda;
    ctx->saved_data["cpu_dtype"] = static_cast<int64_t>(state.cpu_dtype);
    ctx->saved_data["cuda_dtype"] = static_cast<int64_t>(state.cuda_dtype);
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
    AutocastState state;
    state.cpu = ctx->saved_data["cpu"].toBool();
    state.cuda = ctx->saved_data["cuda"].toBool();
    state.cpu_dtype = static_cast<at::ScalarType>(ctx->saved_data["cpu_dtype"].toInt());
    state.cuda_dtype = static_cast<at::ScalarType>(ctx->saved_data["cuda_dtype"].toInt());
    const auto held =
        c10::static_intrusive_pointer_cast<HeldFunction>(ctx->saved_data["fn"].toCapsule());
    const BlockFn& fn = held->fn;
    torch::Tensor h2, n2;
    {
      torch::AutoGradMode grad(true);
      AutocastScope autocast(state);
      std::tie(h2, n2) = fn(h, normed);
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
