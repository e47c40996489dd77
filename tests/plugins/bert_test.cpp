#include <gtest/gtest.h>

#include <workbench/workbench.hpp>

#include "test_support.hpp"

namespace {

struct BertFixture {
  BertFixture() {
    rc = wbtest::run_config(wbtest::minimal_experiment(), {"objective.plugin=bert"});
    host = std::make_unique<wbtest::HostFixture>(rc.at("objective"));
    bert = wbtest::plugins().create<wb::Objective>("bert", *host->context);
  }
  wb::RunConfig rc;
  std::unique_ptr<wbtest::HostFixture> host;
  std::shared_ptr<wb::Objective> bert;
};

}  // namespace

TEST(Bert, MasksAboutFifteenPercentAnewAtEveryCallWithBidirectionalAttention) {
  BertFixture f;
  auto gen = torch::make_generator<at::CPUGeneratorImpl>(0);
  auto tokens = torch::zeros({200, 100}, torch::kLong);
  auto a = f.bert->prepare(tokens, gen), b = f.bert->prepare(tokens, gen);
  EXPECT_FALSE(a.causal);
  EXPECT_FALSE(a.shift_sos);
  EXPECT_NEAR(a.masked.to(torch::kFloat32).mean().item<float>(), 0.15, 0.01);
  EXPECT_FALSE(torch::equal(a.masked, b.masked));
}

TEST(Bert, LossCoversMaskedPositionsOnlyPerExampleThenBatch) {
  BertFixture f;
  wb::ForwardInput in;
  in.tokens = torch::zeros({2, 4}, torch::kLong);
  in.masked = torch::tensor({1, 0, 0, 0, 1, 1, 0, 0}, torch::kBool).view({2, 4});
  in.causal = false;
  // Logits: vocab 2; the target 0 gets logit x, token 1 gets 0: loss log(1 + e^-x).
  auto x = torch::tensor({0.0f, 100.f, 100.f, 100.f, 1.0f, 2.0f, -100.f, -100.f}).view({2, 4});
  wb::ForwardOutput out;
  out.logits = torch::stack({x, torch::zeros_like(x)}, -1);  // (2, 4, 2)
  auto nll = [](double v) { return std::log1p(std::exp(-v)); };
  // Example 0: position 0 only. Example 1: mean of positions 0 and 1. Unmasked
  // positions (huge losses at -100) must not count.
  double want = 0.5 * (nll(0.0) + 0.5 * (nll(1.0) + nll(2.0)));
  EXPECT_NEAR(f.bert->loss(in, out).loss.item<double>(), want, 1e-6);
}
