// The AR objective on hand-computed cases: the loss is the mean cross-entropy of each
// token under the logits at its own position (the model shifts the input by SOS, so
// position i's logits were computed from tokens < i), reported in nats and bits.
#include <gtest/gtest.h>

#include <cmath>

#include <workbench/workbench.hpp>

#include "test_support.hpp"

namespace {

struct ArFixture {
  ArFixture() {
    rc = wbtest::run_config(wbtest::minimal_experiment(), {"objective.plugin=ar"});
    host = std::make_unique<wbtest::HostFixture>(rc.at("objective"));
    ar = wbtest::plugins().create<wb::Objective>("ar", *host->context);
  }
  wb::RunConfig rc;
  std::unique_ptr<wbtest::HostFixture> host;
  std::shared_ptr<wb::Objective> ar;
};

}  // namespace

TEST(Ar, AsksForCausalAttentionAndTheSosShiftWithoutMasks) {
  ArFixture f;
  auto gen = torch::make_generator<at::CPUGeneratorImpl>(0);
  auto tokens = torch::tensor({3, 1, 2}, torch::kLong).view({1, 3});
  auto batch = f.ar->prepare(tokens, gen);
  EXPECT_TRUE(batch.input.causal);
  EXPECT_TRUE(batch.input.shift_sos);
  EXPECT_FALSE(batch.input.masked.defined());
  EXPECT_TRUE(torch::equal(batch.input.tokens, tokens));
  EXPECT_TRUE(torch::equal(batch.targets, tokens));  // targets are the tokens themselves
  EXPECT_TRUE(torch::allclose(batch.weights, torch::full({1, 3}, 1.0f / 3)));  // a plain mean
}

TEST(Ar, LossIsTheMeanNextTokenCrossEntropyInNatsAndBits) {
  ArFixture f;
  auto gen = torch::make_generator<at::CPUGeneratorImpl>(0);
  // Vocabulary 3, two positions. Position 0: probabilities (1, 2, 3) / 6, target 2:
  // -ln(1/2). Position 1: (1, 1, 2) / 4, target 0: -ln(1/4). Mean: 1.5 ln 2 nats,
  // exactly 1.5 bits per token.
  auto in = f.ar->prepare(torch::tensor({2, 0}, torch::kLong).view({1, 2}), gen);
  wb::ForwardOutput out;
  out.logits = torch::log(torch::tensor({1.f, 2.f, 3.f, 1.f, 1.f, 2.f})).view({1, 2, 3});
  auto loss = f.ar->loss(in, out);
  EXPECT_NEAR(loss.loss.item<double>(), 1.5 * std::log(2.0), 1e-6);
  EXPECT_NEAR(loss.metrics.at("nats_per_token").item<double>(), 1.5 * std::log(2.0), 1e-6);
  EXPECT_NEAR(loss.metrics.at("bits_per_token").item<double>(), 1.5, 1e-6);
}

TEST(Ar, UniformLogitsCostLogVocabularyPerToken) {
  ArFixture f;
  auto gen = torch::make_generator<at::CPUGeneratorImpl>(0);
  auto in = f.ar->prepare(torch::randint(16, {4, 10}, torch::kLong), gen);
  wb::ForwardOutput out;
  out.logits = torch::zeros({4, 10, 16});
  EXPECT_NEAR(f.ar->loss(in, out).metrics.at("bits_per_token").item<double>(), 4.0,
              1e-6);  // log2(16)
}
