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
  EXPECT_FALSE(a.input.causal);
  EXPECT_FALSE(a.input.shift_sos);
  EXPECT_NEAR(a.input.masked.to(torch::kFloat32).mean().item<float>(), 0.15, 0.01);
  EXPECT_FALSE(torch::equal(a.input.masked, b.input.masked));
  EXPECT_TRUE(torch::equal(a.targets, tokens));  // the originals, masked or not
}

TEST(Bert, LossCoversMaskedPositionsOnlyPerExampleThenBatch) {
  BertFixture f;
  auto gen = torch::make_generator<at::CPUGeneratorImpl>(3);
  // Short rows, so that some examples have no masked position at all.
  auto batch = f.bert->prepare(torch::zeros({40, 4}, torch::kLong), gen);
  const auto masked = batch.input.masked;
  ASSERT_GT(masked.sum().item<int64_t>(), 0);
  ASSERT_GT((masked.sum(1) == 0).sum().item<int64_t>(), 0);
  // Logits: vocab 2; the target 0 gets logit x, token 1 gets 0: loss log(1 + e^-x).
  // Unmasked positions get -100 (a loss of 100 nats each), which must not count.
  auto x = torch::rand({40, 4}, gen) * 4 - 2;
  x = torch::where(masked, x, torch::full_like(x, -100.f));
  wb::ForwardOutput out;
  out.logits = torch::stack({x, torch::zeros_like(x)}, -1);  // (40, 4, 2)
  double sum = 0;
  int64_t examples = 0;
  for (int64_t n = 0; n < 40; ++n) {
    double ex = 0;
    int64_t count = 0;
    for (int64_t s = 0; s < 4; ++s)
      if (masked[n][s].item<bool>()) {
        ex += std::log1p(std::exp(-x[n][s].item<double>()));
        ++count;
      }
    if (count == 0) continue;  // nothing masked: no loss to give
    sum += ex / double(count);
    ++examples;
  }
  EXPECT_NEAR(f.bert->loss(batch, out).loss.item<double>(), sum / double(examples), 1e-5);
  EXPECT_EQ(batch.weights.masked_select(~masked).abs().max().item<float>(), 0.0f);
}
