// The mask ensemble: the vote on hand-made predictions, the refusal of AR checkpoints,
// and single-mask vs ensemble rows from the mask_ensemble evaluator and from finetune's
// `masks`, on data whose answer is known (class c uses tokens 4c .. 4c + 3).
#include <gtest/gtest.h>

#include <workbench/workbench.hpp>

#include "../evaluator_fixture.hpp"
#include "majority_vote.hpp"  // plugins/evaluators/common

using wbtest::EvalFixture;

TEST(MajorityVote, TheMostFrequentClassWinsAndTiesAreBrokenBySeed) {
  // Columns: (0, 0, 1) -> 0; (2, 2, 2) -> 2; (1, 0, 1) -> 1.
  auto preds = torch::tensor({0, 2, 1, 0, 2, 0, 1, 2, 1}, torch::kLong).view({3, 3});
  auto gen = torch::make_generator<at::CPUGeneratorImpl>(0);
  EXPECT_TRUE(torch::equal(probe::majority_vote(preds, 3, gen), torch::tensor({0, 2, 1})));
  // A 1-1 tie between classes 0 and 1 in each of 200 columns: never class 2, both tied
  // classes win sometimes, and the same seed gives the same winners.
  auto tie = torch::stack({torch::zeros({200}, torch::kLong), torch::ones({200}, torch::kLong)});
  auto g1 = torch::make_generator<at::CPUGeneratorImpl>(7),
       g2 = torch::make_generator<at::CPUGeneratorImpl>(7);
  auto a = probe::majority_vote(tie, 3, g1), b = probe::majority_vote(tie, 3, g2);
  EXPECT_TRUE(torch::equal(a, b));
  const int64_t ones = a.sum().item<int64_t>();
  EXPECT_GT(ones, 50);
  EXPECT_LT(ones, 150);
  EXPECT_EQ(a.le(1).all().item<bool>(), true);
}

TEST(MaskEnsemble, RefusesAnArCheckpoint) {
  EvalFixture f("ar", "mask_ensemble", {});
  try {
    f.evaluator->evaluate(f.in);
    FAIL() << "expected a refusal";
  } catch (const wb::Error& e) {
    EXPECT_NE(std::string(e.what()).find("does not mask"), std::string::npos) << e.what();
  }
}

TEST(MaskEnsemble, ReportsSingleMaskAndEnsembleAccuracyPerLayer) {
  EvalFixture f("bert", "mask_ensemble", {"evaluators.0.masks=5", "evaluators.0.l2_steps=2"});
  f.evaluator->evaluate(f.in);
  auto rows = f.rows();
  for (int64_t layer = 0; layer <= 2; ++layer)
    for (const std::string split : {"val", "test"}) {
      const std::string at = "/" + std::to_string(layer) + "/" + split;
      ASSERT_TRUE(rows.count("accuracy_single_mask" + at)) << at;
      ASSERT_TRUE(rows.count("accuracy_ensemble" + at)) << at;
    }
  // The classes' tokens differ, so the pooled features separate them at the last layer.
  EXPECT_GE(rows.at("accuracy_ensemble/2/test"), 0.9);
  EXPECT_GE(rows.at("accuracy_single_mask/2/test"), 0.9);
}

TEST(Finetune, MasksScoreTheBestEpochByTheVoteAndAreRefusedForAr) {
  EvalFixture bert("bert", "finetune",
                   {"evaluators.0.epochs=2", "evaluators.0.lr=0.01", "evaluators.0.masks=3"});
  bert.evaluator->evaluate(bert.in);
  auto rows = bert.rows();
  EXPECT_TRUE(rows.count("accuracy_ensemble/2/val"));
  EXPECT_GE(rows.at("accuracy_ensemble/2/test"), 0.9);
  EvalFixture ar("ar", "finetune", {"evaluators.0.masks=3"});
  EXPECT_THROW(ar.evaluator->evaluate(ar.in), wb::Error);
}
