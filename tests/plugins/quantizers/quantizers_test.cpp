// Every quantizer round-trips: decode(encode(x)) is the palette colour nearest to x.
#include <gtest/gtest.h>

#include <workbench/workbench.hpp>

#include "test_support.hpp"

namespace {

struct Made {
  Made(const std::vector<std::string>& sets) {
    rc = wbtest::run_config(wbtest::minimal_experiment(), sets);
    host = std::make_unique<wbtest::HostFixture>(rc.at("quantizer"));
    q = wbtest::plugins().create<wb::Quantizer>(rc.at("quantizer").get_string("plugin"),
                                                *host->context);
  }
  wb::RunConfig rc;
  std::unique_ptr<wbtest::HostFixture> host;
  std::shared_ptr<wb::Quantizer> q;
};

// Every intensity 0..255 in one channel, shaped (1, 16, 16, 1).
torch::Tensor all_intensities() {
  return torch::arange(256, torch::kLong).to(torch::kUInt8).view({1, 16, 16, 1});
}

// The palette's values per channel: the decoded colours of every token.
torch::Tensor palette_values(const wb::Quantizer& q) {
  auto tokens = torch::arange(q.vocab_size(), torch::kLong).view({1, -1});
  return q.decode(tokens, 1, q.vocab_size()).view({-1, 1}).to(torch::kFloat32);  // grey: (V, 1)
}

void expect_nearest(const torch::Tensor& x, const torch::Tensor& decoded,
                    const torch::Tensor& palette) {
  auto xf = x.reshape({-1}).to(torch::kFloat32);
  auto dist_got = (decoded.reshape({-1}).to(torch::kFloat32) - xf).abs();
  auto dist_best = (palette.view({1, -1}) - xf.view({-1, 1})).abs().amin(1);
  EXPECT_TRUE(torch::equal(dist_got, dist_best));
}

}  // namespace

TEST(Grey, DecodeOfEncodeIsTheNearestLevel) {
  Made m({"quantizer.levels=7"});
  auto x = all_intensities();
  m.q->fit(x);
  EXPECT_EQ(m.q->vocab_size(), 7);
  auto tokens = m.q->encode(x);
  EXPECT_EQ(tokens.sizes(), (std::vector<int64_t>{1, 256}));
  EXPECT_EQ(tokens.max().item<int64_t>(), 6);
  expect_nearest(x, m.q->decode(tokens, 16, 16), palette_values(*m.q));
}

TEST(Uniform, GreyDecodeOfEncodeIsTheNearestLevel) {
  Made m({"quantizer.plugin=uniform", "quantizer.bits=3"});
  auto x = all_intensities();
  m.q->fit(x);
  EXPECT_EQ(m.q->vocab_size(), 8);
  expect_nearest(x, m.q->decode(m.q->encode(x), 16, 16), palette_values(*m.q));
}

TEST(Uniform, RgbHasEightBitsPerChannelCubedTokensAndRoundTrips) {
  Made m({"quantizer.plugin=uniform", "quantizer.bits=3"});
  auto gen = torch::make_generator<at::CPUGeneratorImpl>(3);
  auto x = torch::randint(0, 256, {4, 5, 6, 3}, gen, torch::kLong).to(torch::kUInt8);
  m.q->fit(x);
  EXPECT_EQ(m.q->vocab_size(), 512);  // the paper's 9-bit palette size
  auto tokens = m.q->encode(x);
  EXPECT_EQ(tokens.sizes(), (std::vector<int64_t>{4, 30}));
  EXPECT_LT(tokens.max().item<int64_t>(), 512);
  auto decoded = m.q->decode(tokens, 5, 6);
  ASSERT_EQ(decoded.sizes(), x.sizes());
  // A grid palette: the nearest colour is the nearest level in each channel.
  auto levels = torch::tensor({0, 36, 73, 109, 146, 182, 219, 255}, torch::kFloat32);
  for (int64_t c = 0; c < 3; ++c) expect_nearest(x.select(3, c), decoded.select(3, c), levels);
  // The palette survives save and load.
  Made again({"quantizer.plugin=uniform", "quantizer.bits=3"});
  m.q->save(m.host->dir / "palette.pt");
  again.q->load(m.host->dir / "palette.pt");
  EXPECT_TRUE(torch::equal(again.q->encode(x), tokens));
}

TEST(Uniform, RefusesUseBeforeFitAndAPaletteOfOtherBits) {
  Made m({"quantizer.plugin=uniform", "quantizer.bits=2"});
  EXPECT_THROW(m.q->vocab_size(), wb::Error);
  m.q->fit(all_intensities());
  m.q->save(m.host->dir / "p.pt");
  Made other({"quantizer.plugin=uniform", "quantizer.bits=4"});
  EXPECT_THROW(other.q->load(m.host->dir / "p.pt"), wb::Error);
}

namespace {
// Three RGB colours with a little noise, (n, 4, 4, 3).
torch::Tensor three_colours(int64_t n, uint64_t seed) {
  auto gen = torch::make_generator<at::CPUGeneratorImpl>(seed);
  auto base = torch::tensor({{20, 40, 200}, {230, 30, 30}, {90, 220, 90}}, torch::kFloat32);
  auto which = torch::randint(0, 3, {n * 16}, gen, torch::kLong);
  auto noise = torch::randint(-4, 5, {n * 16, 3}, gen, torch::kLong).to(torch::kFloat32);
  return (base.index_select(0, which) + noise).clamp(0, 255).to(torch::kUInt8).view({n, 4, 4, 3});
}
}  // namespace

TEST(KMeans, FindsTheColoursOfClusteredPixels) {
  Made m({"quantizer.plugin=kmeans", "quantizer.k=3"});
  m.q->fit(three_colours(200, 1));
  auto palette = m.q->decode(torch::arange(3, torch::kLong).view({1, 3}), 1, 3).view({3, 3});
  auto found = std::get<0>(palette.to(torch::kFloat32).sum(1).sort());  // order-free summary
  EXPECT_NEAR(found[0].item<float>(), 260, 3);                          // 20 + 40 + 200
  EXPECT_NEAR(found[1].item<float>(), 290, 3);                          // 230 + 30 + 30
  EXPECT_NEAR(found[2].item<float>(), 400, 3);                          // 90 + 220 + 90
}

TEST(KMeans, DecodeOfEncodeIsTheNearestPaletteColour) {
  Made m({"quantizer.plugin=kmeans", "quantizer.k=16"});
  auto gen = torch::make_generator<at::CPUGeneratorImpl>(4);
  auto x = torch::randint(0, 256, {50, 4, 4, 3}, gen, torch::kLong).to(torch::kUInt8);
  m.q->fit(x);
  auto decoded = m.q->decode(m.q->encode(x), 4, 4).view({-1, 3}).to(torch::kFloat32);
  auto palette = m.q->decode(torch::arange(16, torch::kLong).view({1, 16}), 1, 16).view({16, 3});
  auto xf = x.view({-1, 3}).to(torch::kFloat32);
  auto got = (decoded - xf).pow(2).sum(1).sqrt();
  auto best = torch::cdist(xf, palette.to(torch::kFloat32)).amin(1);
  // Encoding picks the nearest centroid; decoding rounds it to integers, which moves a
  // colour by at most sqrt(3)/2 and can change the nearest by at most sqrt(3).
  EXPECT_LE((got - best).max().item<float>(), std::sqrt(3.0f) + 1e-3f);
  EXPECT_GT((got - best).abs().lt(1e-4).to(torch::kFloat32).mean().item<float>(), 0.99f);
}

TEST(KMeans, SameSeedSamePaletteAndItSurvivesSaveAndLoad) {
  auto x = three_colours(100, 2);
  Made a({"quantizer.plugin=kmeans", "quantizer.k=8"}),
      b({"quantizer.plugin=kmeans", "quantizer.k=8"});
  a.q->fit(x);
  b.q->fit(x);
  EXPECT_TRUE(torch::equal(a.q->encode(x), b.q->encode(x)));
  a.q->save(a.host->dir / "palette.pt");
  Made c({"quantizer.plugin=kmeans", "quantizer.k=8"});
  c.q->load(a.host->dir / "palette.pt");
  EXPECT_TRUE(torch::equal(c.q->encode(x), a.q->encode(x)));
  Made other({"quantizer.plugin=kmeans", "quantizer.k=9"});
  EXPECT_THROW(other.q->load(a.host->dir / "palette.pt"), wb::Error);
}

TEST(KMeans, MoreCentroidsThanDistinctColoursIsAClearError) {
  Made m({"quantizer.plugin=kmeans", "quantizer.k=300"});
  try {
    m.q->fit(all_intensities());  // 256 distinct greys
    FAIL();
  } catch (const wb::Error& e) {
    EXPECT_NE(std::string(e.what()).find("only 256 distinct colours, fewer than k = 300"),
              std::string::npos)
        << e.what();
  }
}

// Lloyd's iterations keep lowering the quantization error after the (greedy) k-means++
// draw and the first update: more iterations, a better palette (measured: 91.5 after
// one, 87.0 after 50).
TEST(KMeans, MoreLloydIterationsLowerTheError) {
  auto greys = all_intensities().repeat({8, 1, 1, 1});
  auto error_after = [&](int iterations) {
    Made m({"quantizer.plugin=kmeans", "quantizer.k=8",
            fmt::format("quantizer.max_iter={}", iterations)});
    m.q->fit(greys);
    auto back = m.q->decode(m.q->encode(greys), 16, 16).view(greys.sizes());
    return (back.to(torch::kFloat32) - greys.to(torch::kFloat32)).pow(2).mean().item<float>();
  };
  const float one = error_after(1), many = error_after(50);
  EXPECT_LT(many, 0.97f * one) << one << " after 1 iteration, " << many << " after 50";
}
