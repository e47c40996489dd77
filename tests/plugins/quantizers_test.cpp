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
