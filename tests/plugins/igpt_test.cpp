#include <gtest/gtest.h>

#include <workbench/workbench.hpp>

#include "test_support.hpp"

namespace {

struct Tiny {
  Tiny(const std::vector<std::string>& sets = {}) {
    rc = wbtest::run_config(wbtest::minimal_experiment(), sets);
    host = std::make_unique<wbtest::HostFixture>(rc.at("model"));
    model = wbtest::plugins().create<wb::Model>("igpt", *host->context);
    model->build({16, 12});
  }
  wb::RunConfig rc;
  std::unique_ptr<wbtest::HostFixture> host;
  std::shared_ptr<wb::Model> model;
};

torch::Tensor tokens(int64_t n, int64_t s, uint64_t seed) {
  auto gen = torch::make_generator<at::CPUGeneratorImpl>(seed);
  return torch::randint(0, 16, {n, s}, gen, torch::kLong);
}

}  // namespace

TEST(Igpt, ShapesAndOneFeaturePerLayerIncludingTheEmbedding) {
  Tiny t;
  wb::ForwardInput in;
  in.tokens = tokens(3, 12, 1);
  in.want_features = true;
  auto out = t.model->forward(in);
  EXPECT_EQ(out.logits.sizes(), (std::vector<int64_t>{3, 12, 16}));
  ASSERT_EQ(out.features.size(), 3u);  // layers 0, 1, 2
  for (const auto& f : out.features) EXPECT_EQ(f.sizes(), (std::vector<int64_t>{3, 32}));
}

TEST(Igpt, OutputHeadStartsAtZero) {
  Tiny t;
  wb::ForwardInput in;
  in.tokens = tokens(2, 12, 1);
  EXPECT_EQ(t.model->forward(in).logits.abs().max().item<float>(), 0.0f);
}

TEST(Igpt, NoBiasesAnywhere) {
  Tiny t;
  for (const auto& p : t.model->module().named_parameters())
    EXPECT_EQ(p.key().find("bias"), std::string::npos) << p.key();
}

TEST(Igpt, CausalWithSosPredictsEachTokenFromThoseBefore) {
  Tiny t;
  // A non-zero head, so logits depend on the input.
  torch::NoGradGuard no_grad;
  for (auto& p : t.model->module().named_parameters())
    if (p.key().find("head") != std::string::npos) p.value().normal_(0, 0.1);
  wb::ForwardInput in;
  in.tokens = tokens(1, 12, 1);
  auto a = t.model->forward(in).logits;
  in.tokens = in.tokens.clone();
  in.tokens[0][5] = (in.tokens[0][5].item<int64_t>() + 1) % 16;
  auto b = t.model->forward(in).logits;
  // Position i sees tokens < i: positions 0..5 are unchanged, 6.. change.
  EXPECT_TRUE(torch::equal(a.slice(1, 0, 6), b.slice(1, 0, 6)));
  EXPECT_FALSE(torch::allclose(a.slice(1, 6), b.slice(1, 6)));
  // Bidirectional attention lets every position see the change.
  in.causal = false;
  auto c = t.model->forward(in).logits;
  in.tokens[0][5] = (in.tokens[0][5].item<int64_t>() + 1) % 16;
  auto d = t.model->forward(in).logits;
  EXPECT_FALSE(torch::allclose(c.slice(1, 0, 5), d.slice(1, 0, 5)));
}

TEST(Igpt, ExplicitDimensionsOverrideTheNamedSize) {
  Tiny t({"model.layers=3", "model.width=24", "model.heads=3"});
  EXPECT_EQ(t.model->num_layers(), 3);
  EXPECT_EQ(t.model->width(), 24);
  auto rc = wbtest::run_config(wbtest::minimal_experiment(), {"model.width=30", "model.heads=4"});
  wbtest::HostFixture host(rc.at("model"));
  EXPECT_THROW(wbtest::plugins().create<wb::Model>("igpt", *host.context), wb::Error);
}

TEST(Igpt, SameSeedSameInitialWeights) {
  Tiny a, b;
  auto pa = a.model->module().parameters(), pb = b.model->module().parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(torch::equal(pa[i], pb[i]));
}

// The paper's iGPT-S (24 layers, width 512, 8 heads) at vocab 512 and context 1024
// has 76M parameters; this architecture must match within 1%.
TEST(Igpt, PaperSizeSHasSeventySixMillionParameters) {
  auto rc = wbtest::run_config(wbtest::minimal_experiment(), {"model.size=s"});
  wbtest::HostFixture host(rc.at("model"));
  auto model = wbtest::plugins().create<wb::Model>("igpt", *host.context);
  model->build({512, 1024});
  int64_t n = 0;
  for (const auto& p : model->module().parameters()) n += p.numel();
  EXPECT_NEAR(static_cast<double>(n), 76e6, 0.01 * 76e6) << n;
  EXPECT_EQ(model->num_layers(), 24);
  EXPECT_EQ(model->width(), 512);
}
