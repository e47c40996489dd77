// FusedAdam (LibTorch's fused kernel) against torch::optim::Adam: the same updates,
// and a checkpoint of one restores the other's state.
#include <gtest/gtest.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/torch.h>

#include "training/adam_step.hpp"
#include "training/fused_adam.hpp"

namespace {

// Two parameters (a matrix and a vector) and fixed gradients that change each step.
std::vector<torch::Tensor> make_params() {
  torch::manual_seed(5);
  return {torch::randn({7, 33}).requires_grad_(true), torch::randn({33}).requires_grad_(true)};
}

void set_grads(std::vector<torch::Tensor>& params, int step) {
  torch::manual_seed(100 + step);
  for (auto& p : params) p.mutable_grad() = torch::randn_like(p);
}

torch::optim::AdamOptions options() {
  return torch::optim::AdamOptions(1e-2).betas({0.9, 0.95}).weight_decay(0.0);
}

// Steps [from, to) of `opt` on `params`, each with its step's gradients.
void take_steps(wb::FusedAdam& opt, std::vector<torch::Tensor>& params, int from, int to) {
  for (int step = from; step < to; ++step) {
    set_grads(params, step);
    opt.step();
  }
}

// Four steps without a stop: what a resumed optimizer must reproduce exactly.
std::vector<torch::Tensor> four_steps_straight() {
  auto a = make_params();
  wb::FusedAdam straight(a, options());
  take_steps(straight, a, 0, 4);
  return a;
}

std::stringstream saved_state(wb::FusedAdam& opt) {
  std::stringstream buffer;
  torch::serialize::OutputArchive out;
  opt.save(out);
  out.save_to(buffer);
  return buffer;
}

void load_state(wb::FusedAdam& opt, std::stringstream& buffer) {
  torch::serialize::InputArchive in;
  in.load_from(buffer);
  opt.load(in);
}

TEST(FusedAdam, MakesTheSameUpdatesAsTorchAdam) {
  auto a = make_params(), b = make_params();
  torch::optim::Adam reference(a, options());
  wb::FusedAdam fused(b, options());
  for (int step = 0; step < 5; ++step) {
    set_grads(a, step);
    set_grads(b, step);
    reference.step();
    fused.step();
  }
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_TRUE(torch::allclose(a[i], b[i], 1e-5, 1e-6))
        << "parameter " << i << ": largest difference " << (a[i] - b[i]).abs().max().item<double>();
    EXPECT_FALSE(torch::equal(a[i], make_params()[i]));  // it did move
  }
}

TEST(FusedAdam, ResumesFromASavedStateAsIfNeverStopped) {
  const auto a = four_steps_straight();
  auto b = make_params();
  // b: two steps, saved, a fresh optimizer loads the state and takes the other two.
  {
    wb::FusedAdam first(b, options());
    take_steps(first, b, 0, 2);
    auto buffer = saved_state(first);
    wb::FusedAdam second(b, options());
    load_state(second, buffer);
    take_steps(second, b, 2, 4);
  }
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i], b[i])) << i;
}

// A load into an optimizer that has already stepped (a resume in the same process)
// restarts its step counts from the loaded state, not from its own.
TEST(FusedAdam, ALoadAfterStepsTakesTheLoadedStepCounts) {
  const auto a = four_steps_straight();
  auto b = make_params();
  wb::FusedAdam opt(b, options());
  take_steps(opt, b, 0, 2);
  auto buffer = saved_state(opt);
  std::vector<torch::Tensor> saved;
  for (const auto& p : b) saved.push_back(p.detach().clone());
  take_steps(opt, b, 2, 3);  // a step the load takes back
  {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < b.size(); ++i) b[i].copy_(saved[i]);
  }
  load_state(opt, buffer);
  take_steps(opt, b, 2, 4);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i], b[i])) << i;
}

// AdamStep clips with the gradients' norm kept on the device; the parameters it gives
// are clip_grad_norm_'s, bit for bit, for several parameters and for one (which
// clip_grad_norm_ takes without stacking).
TEST(AdamStep, ClipsAsClipGradNormDoesBitForBit) {
  for (size_t count : {2, 1}) {
    auto a = make_params(), b = make_params();
    a.resize(count);
    b.resize(count);
    wb::AdamStep step(a, 0.5);  // the gradients' norm is about 16: clipped
    wb::FusedAdam reference(b, options());
    for (int s = 0; s < 3; ++s) {
      step.begin(1e-2);
      set_grads(a, s);
      step.update();
      set_grads(b, s);
      torch::nn::utils::clip_grad_norm_(b, 0.5);
      reference.step();
    }
    for (size_t i = 0; i < count; ++i) EXPECT_TRUE(torch::equal(a[i], b[i])) << count << " " << i;
  }
}

// The step a CUDA graph captures (AdamStep::update_on_device: rate from a tensor, the
// clipping's norm kept on the device, found_inf) makes the update the host step makes,
// skips it where found_inf is 1, and count_step() keeps the counts a checkpoint saves.
// Plain tensor operations: checked here on the CPU, the graph itself on a GPU
// (trainer_test.cpp).
TEST(AdamStep, TheDeviceSideUpdateMakesTheHostSidesUpdate) {
  const double lr = 0.05, clip = 0.5;  // the gradients' norm is about 16: clipped
  auto a = make_params(), b = make_params();
  wb::AdamStep host(a, clip), device(b, clip);
  auto rate = torch::tensor(float(lr)), none = torch::zeros({}), skip = torch::ones({});
  for (int step = 0; step < 4; ++step) {
    host.begin(lr);
    set_grads(a, step);
    host.update();
    device.clear_grads();
    set_grads(b, step);
    device.update_on_device(rate, none);
    device.count_step();
  }
  for (size_t i = 0; i < a.size(); ++i)
    EXPECT_TRUE(torch::allclose(a[i], b[i], 1e-5, 1e-6))
        << "parameter " << i << ": largest difference " << (a[i] - b[i]).abs().max().item<double>();
  // found_inf = 1: no update at all.
  std::vector<torch::Tensor> before;
  for (const auto& p : b) before.push_back(p.detach().clone());
  device.clear_grads();
  set_grads(b, 9);
  device.update_on_device(rate, skip);
  for (size_t i = 0; i < b.size(); ++i) EXPECT_TRUE(torch::equal(b[i], before[i])) << i;
  // The saved step counts: each optimizer saved, loaded afresh and stepped once more on
  // the same parameters and gradients moves them alike (bias correction reads the count).
  auto resumed_step = [&](wb::AdamStep& from, std::vector<torch::Tensor> params) {
    torch::serialize::OutputArchive out;
    from.save(out);
    std::stringstream buffer;
    out.save_to(buffer);
    torch::serialize::InputArchive in;
    in.load_from(buffer);
    wb::AdamStep again(params, clip);
    again.load(in);
    again.begin(lr);
    set_grads(params, 4);
    again.update();
    return params;
  };
  auto from_host = resumed_step(host, {a[0].detach().clone().requires_grad_(true),
                                       a[1].detach().clone().requires_grad_(true)});
  auto from_device = resumed_step(device, {a[0].detach().clone().requires_grad_(true),
                                           a[1].detach().clone().requires_grad_(true)});
  for (size_t i = 0; i < a.size(); ++i)
    EXPECT_TRUE(torch::allclose(from_host[i], from_device[i], 1e-6, 1e-7)) << i;
}

}  // namespace
