// FusedAdam (LibTorch's fused kernel) against torch::optim::Adam: the same updates,
// and a checkpoint of one restores the other's state.
#include <gtest/gtest.h>
#include <torch/torch.h>

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
  auto a = make_params(), b = make_params();
  wb::FusedAdam straight(a, options());
  for (int step = 0; step < 4; ++step) {
    set_grads(a, step);
    straight.step();
  }
  // b: two steps, saved, a fresh optimizer loads the state and takes the other two.
  {
    wb::FusedAdam first(b, options());
    for (int step = 0; step < 2; ++step) {
      set_grads(b, step);
      first.step();
    }
    std::stringstream buffer;
    torch::serialize::OutputArchive out;
    first.save(out);
    out.save_to(buffer);
    wb::FusedAdam second(b, options());
    torch::serialize::InputArchive in;
    in.load_from(buffer);
    second.load(in);
    for (int step = 2; step < 4; ++step) {
      set_grads(b, step);
      second.step();
    }
  }
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i], b[i])) << i;
}

// A load into an optimizer that has already stepped (a resume in the same process)
// restarts its step counts from the loaded state, not from its own.
TEST(FusedAdam, ALoadAfterStepsTakesTheLoadedStepCounts) {
  auto a = make_params(), b = make_params();
  wb::FusedAdam straight(a, options());
  for (int step = 0; step < 4; ++step) {
    set_grads(a, step);
    straight.step();
  }
  wb::FusedAdam opt(b, options());
  for (int step = 0; step < 2; ++step) {
    set_grads(b, step);
    opt.step();
  }
  std::stringstream buffer;
  torch::serialize::OutputArchive out;
  opt.save(out);
  out.save_to(buffer);
  std::vector<torch::Tensor> saved;
  for (const auto& p : b) saved.push_back(p.detach().clone());
  set_grads(b, 2);
  opt.step();  // a step the load takes back
  {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < b.size(); ++i) b[i].copy_(saved[i]);
  }
  torch::serialize::InputArchive in;
  in.load_from(buffer);
  opt.load(in);
  for (int step = 2; step < 4; ++step) {
    set_grads(b, step);
    opt.step();
  }
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i], b[i])) << i;
}

}  // namespace
