// The linear probe and what it shares with the other probing evaluators
// (plugins/evaluators/common): the logistic regression on data whose answer is known
// (separable classes ~100%, shuffled labels at chance), the layer concatenation's
// window and width, the per-checkpoint features cache, and the evaluator's rows.
#include <filesystem>

#include <gtest/gtest.h>

#include <workbench/workbench.hpp>

#include "../evaluator_fixture.hpp"
#include "layer_concat.hpp"  // plugins/evaluators/common
#include "logistic_regression.hpp"

using wbtest::EvalFixture;

namespace {

// Two Gaussian blobs in 8 dimensions, centres 4 apart along every axis.
std::pair<torch::Tensor, torch::Tensor> blobs(int64_t n, uint64_t seed) {
  auto gen = torch::make_generator<at::CPUGeneratorImpl>(seed);
  auto y = torch::arange(n, torch::kLong) % 2;
  auto x = torch::randn({n, 8}, gen) + 4.0 * y.unsqueeze(1).to(torch::kFloat32);
  return {x, y};
}

}  // namespace

TEST(LogisticRegression, SeparableClassesReachAlmostAllAndShuffledLabelsReachChance) {
  auto [x, y] = blobs(400, 1);
  auto [xt, yt] = blobs(2000, 2);
  auto fit = probe::fit_logistic(x, y, 2, 1e-4, 200, 1e-6);
  EXPECT_GE(probe::accuracy(fit, xt, yt), 0.99);
  // Labels drawn independently of x: nothing to learn, held-out accuracy ~50%.
  auto gen = torch::make_generator<at::CPUGeneratorImpl>(3);
  auto shuffled = y.index_select(0, torch::randperm(y.size(0), gen, torch::kLong));
  auto noise = probe::fit_logistic(x, shuffled, 2, 1e-4, 200, 1e-6);
  const double chance = probe::accuracy(noise, xt, torch::randint(0, 2, {2000}, gen, torch::kLong));
  EXPECT_GT(chance, 0.45);
  EXPECT_LT(chance, 0.55);
}

TEST(LayerConcat, NLayersCentredOnTheBestGiveNTimesTheWidth) {
  EXPECT_EQ(probe::concat_window(3, 3, 8), (std::vector<int64_t>{2, 3, 4}));
  EXPECT_EQ(probe::concat_window(3, 4, 8), (std::vector<int64_t>{1, 2, 3, 4}));
  // At the edges the window slides and keeps its n layers.
  EXPECT_EQ(probe::concat_window(0, 3, 8), (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(probe::concat_window(8, 3, 8), (std::vector<int64_t>{6, 7, 8}));
  EXPECT_THROW(probe::concat_window(1, 10, 8), wb::Error);  // 9 layers (0..8) at most
  std::vector<torch::Tensor> per_layer;
  for (int64_t l = 0; l <= 8; ++l) per_layer.push_back(torch::full({5, 16}, double(l)));
  auto x = probe::concat_features(per_layer, {2, 3, 4});
  EXPECT_EQ(x.sizes(), (std::vector<int64_t>{5, 3 * 16}));
  EXPECT_EQ(x[0][16].item<float>(), 3.0f);  // the layers side by side, in order
}

TEST(LinearProbe, ProbesEveryLayerPicksTheBestOnValAndConcatenatesAroundIt) {
  EvalFixture f("ar", "linear_probe", {"evaluators.0.l2_steps=2", "evaluators.0.concat=2"});
  f.use_checkpoint("probe-test");
  f.evaluator->evaluate(f.in);
  auto rows = f.rows();
  for (int64_t layer = 0; layer <= 2; ++layer)
    for (const std::string split : {"train", "val", "test"})
      EXPECT_TRUE(rows.count("accuracy/" + std::to_string(layer) + "/" + split));
  const int64_t best = int64_t(rows.at("best_layer/-1/val"));
  // The classes use disjoint tokens: the mean-pooled embedding already separates them.
  EXPECT_GE(rows.at("accuracy/0/test"), 0.95);
  const std::string at = "/" + std::to_string(best) + "/";
  EXPECT_EQ(rows.at("best_layer_accuracy/-1/val"), rows.at("accuracy" + at + "val"));
  EXPECT_GE(rows.at("concat_accuracy" + at + "test"), 0.95);
  EXPECT_EQ(rows.at("concat_first_layer" + at + "val"), probe::concat_window(best, 2, 2).front());
}

TEST(LinearProbe, TheRawPixelBaselineReadsTheRunsImagesInTheirTokensOrder) {
  EvalFixture f("ar", "linear_probe", {"evaluators.0.input=\"pixels\"", "evaluators.0.l2_steps=2"});
  // 4x4 grey images whose pixels are the tokens times 30: class 1 is brighter.
  auto images = [&](const std::string& split) {
    const auto& s = f.in.splits.at(split);
    return wb::ImageSplit{(s.tokens * 30).to(torch::kUInt8).view({-1, 4, 4, 1}), s.labels};
  };
  f.in.images = images;
  f.evaluator->evaluate(f.in);
  auto rows = f.rows();
  EXPECT_GE(rows.at("pixel_accuracy/-1/test"), 0.95);
  EXPECT_FALSE(rows.count("accuracy/0/test")) << "the model's layers are not probed";
  // Images in another order than the tokens would pair pixels with the wrong labels.
  f.in.images = [&](const std::string& split) {
    auto s = images(split);
    return wb::ImageSplit{s.images.flip(0), s.labels.flip(0)};
  };
  EXPECT_THROW(f.evaluator->evaluate(f.in), wb::Error);
}

TEST(LinearProbe, APoolGridProbesRegionMeansCachedBesideTheGlobalOnes) {
  EvalFixture f("ar", "linear_probe", {"evaluators.0.l2_steps=2", "evaluators.0.pool_grid=2"});
  f.use_checkpoint("grid-test");
  f.evaluator->evaluate(f.in);
  auto rows = f.rows();
  // Its rows are named after the grid, so no table mixes them with the paper's feature.
  EXPECT_GE(rows.at("grid2_accuracy/0/test"), 0.95);
  EXPECT_TRUE(rows.count("grid2_best_layer/-1/val"));
  EXPECT_TRUE(rows.count("grid2_l2/0/val"));
  EXPECT_FALSE(rows.count("accuracy/0/test"));
  EXPECT_FALSE(rows.count("best_layer/-1/val"));
  // The same pass as the global means, pooled per quadrant of the 4x4 image: four times
  // the width, and the quadrants' mean is the global mean, at every layer.
  auto global = f.features->pooled(1, 16);
  auto grid = f.features->pooled(2, 16);
  for (size_t l = 0; l < global["test"].size(); ++l) {
    const auto& g = global["test"][l];
    ASSERT_EQ(grid["test"][l].size(1), 4 * g.size(1)) << "layer " << l;
    EXPECT_TRUE(torch::allclose(grid["test"][l].view({g.size(0), 4, -1}).mean(1), g, 1e-4, 1e-5))
        << "layer " << l;
  }
  // Each grid its own cached file, under its own key.
  auto& artifacts = *f.ehost.context;
  for (const int64_t g : {1, 2})
    EXPECT_TRUE(std::filesystem::exists(
        std::filesystem::path(artifacts.artifacts().dir("features", f.features->key(g))) /
        "pooled_features.pt"))
        << "grid " << g;
  EXPECT_NE(f.features->key(1), f.features->key(2));
}

TEST(LinearProbe, RefusesAPoolGridOnRawPixels) {
  EvalFixture f("ar", "linear_probe",
                {"evaluators.0.input=\"pixels\"", "evaluators.0.pool_grid=2"});
  f.in.images = [&](const std::string& split) {
    const auto& s = f.in.splits.at(split);
    return wb::ImageSplit{s.tokens.to(torch::kUInt8).view({-1, 4, 4, 1}), s.labels};
  };
  EXPECT_THROW(f.evaluator->evaluate(f.in), wb::Error);
}

TEST(LinearProbe, RefusesAConcatenationWiderThanTheModel) {
  EvalFixture f("ar", "linear_probe", {"evaluators.0.concat=4"});  // tiny: layers 0..2
  EXPECT_THROW(f.evaluator->evaluate(f.in), wb::Error);
}

TEST(FeatureService, OnePassPerKeyWhicheverEvaluatorAsksAndTheSameMasksForEvery) {
  // Two services of one checkpoint key, as two runs of one checkpoint: the same config
  // builds the same weights, and a masking objective's masks come from the service's
  // draw (seeded by the key and the split), so both compute the same features. The
  // second reads the file the first wrote: no pass of its own.
  EvalFixture a("bert", "linear_probe", {}), b("bert", "mask_ensemble", {});
  auto pa = a.model->module().parameters(), pb = b.model->module().parameters();
  for (size_t i = 0; i < pa.size(); ++i) ASSERT_TRUE(torch::equal(pa[i], pb[i]));
  a.use_checkpoint("shared");
  b.features = std::make_unique<wb::FeatureCache>(*b.model, *b.obj, b.in.splits, "shared",
                                                  torch::kCPU, false, *a.ehost.artifacts);
  auto fa = a.features->pooled(1, 16);
  EXPECT_EQ(a.features->split_passes(), 3);  // train, val, test
  auto fb = b.features->pooled(1, 8);        // another batch size: the same features
  EXPECT_EQ(b.features->split_passes(), 0);
  for (const std::string s : {"train", "val", "test"})
    for (size_t l = 0; l < fa[s].size(); ++l)
      EXPECT_TRUE(torch::equal(fa[s][l], fb[s][l])) << s << " layer " << l;
  // The evaluators of one run: linear_probe asks first, mask_ensemble's first mask is
  // the same pass (only its further masks run); nothing more is extracted.
  a.evaluator->evaluate(a.in);
  auto ensemble = wbtest::plugins().create<wb::Evaluator>("mask_ensemble", *b.ehost.context);
  ensemble->evaluate(a.in);
  EXPECT_EQ(a.features->split_passes(), 3);
  // The mask draw is exposed: a plugin drawing from it sees the service's masks.
  auto gen = a.features->mask_generator("test");
  auto progress = a.ehost.context->progress("test", 0);
  auto own = a.features->pass(a.in.splits.at("test").tokens, gen, 16, *progress);
  for (size_t l = 0; l < own.size(); ++l) EXPECT_TRUE(torch::equal(own[l], fa["test"][l]));
  // Another checkpoint key draws other masks: the masked model sees other inputs.
  a.use_checkpoint("another");
  auto other = a.features->pooled(1, 16);
  EXPECT_FALSE(torch::equal(fa["test"][2], other["test"][2]));
}

TEST(FeatureService, BfloatRunsComputeThemInBfloat16AndCacheFloat32) {
  // A run trained with training.precision = "bfloat16" also computes its features in
  // bfloat16 (EvalInputs::bfloat16): close to the float32 ones, not equal to them (so
  // the scope is on), and stored as float32 for the probe.
  EvalFixture f32("ar", "linear_probe", {}), bf16("ar", "linear_probe", {});
  f32.use_checkpoint("float32");
  bf16.use_checkpoint("bfloat16", /*bfloat16=*/true);
  auto a = f32.features->pooled(1, 16);
  auto b = bf16.features->pooled(1, 16);
  const auto last = a["test"].size() - 1;
  EXPECT_EQ(b["test"][last].scalar_type(), torch::kFloat32);
  EXPECT_FALSE(torch::equal(a["test"][last], b["test"][last]));
  EXPECT_TRUE(torch::allclose(a["test"][last], b["test"][last], 0.05, 0.05));
}
