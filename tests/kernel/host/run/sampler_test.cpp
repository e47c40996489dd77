// `workbench sample`: completions keep the given half, sampling is seeded, the grid
// has one row per test image plus the unconditional row, and a BERT checkpoint is refused.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <workbench/workbench.hpp>

#include "run/runner.hpp"
#include "run/sampler.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;

namespace {

// Width and height from a PNG's IHDR chunk.
std::pair<uint32_t, uint32_t> png_size(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  unsigned char b[24];
  f.read(reinterpret_cast<char*>(b), 24);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(b) + 1, 3), "PNG");
  auto be = [&](int i) {
    return (uint32_t(b[i]) << 24) | (uint32_t(b[i + 1]) << 16) | (uint32_t(b[i + 2]) << 8) |
           b[i + 3];
  };
  return {be(16), be(20)};
}

std::string experiment(const std::string& data, const std::string& objective) {
  return fmt::format(R"(
[experiment]
name = "sample"
[dataset]
plugin = "fashion_mnist"
path = "{}"
resolution = 7
max_train = 100
max_eval = 20
[quantizer]
plugin = "grey"
levels = 8
[model]
plugin = "igpt"
size = "tiny"
[objective]
plugin = "{}"
[training]
steps = 3
batch_size = 8
)",
                     data, objective);
}

}  // namespace

TEST(Sampler, CompletionKeepsTheGivenTokensAndIsSeeded) {
  auto rc = wbtest::run_config(wbtest::minimal_experiment());
  wbtest::HostFixture host(rc.at("model"));
  auto model = wbtest::plugins().create<wb::Model>("igpt", *host.context);
  model->build({8, 12});
  torch::NoGradGuard no_grad;
  for (auto& p : model->module().named_parameters())
    if (p.key() == "head.weight") p.value().normal_(0, 1.0);
  auto tokens = torch::randint(0, 8, {4, 12}, torch::kLong);
  auto g1 = torch::make_generator<at::CPUGeneratorImpl>(1),
       g2 = torch::make_generator<at::CPUGeneratorImpl>(1);
  auto a = wb::complete(*model, tokens, 6, 1.0, g1), b = wb::complete(*model, tokens, 6, 1.0, g2);
  EXPECT_TRUE(torch::equal(a.slice(1, 0, 6), tokens.slice(1, 0, 6)));
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_FALSE(torch::equal(a.slice(1, 6), tokens.slice(1, 6)));  // 24 tokens of 8 values
  EXPECT_LT(a.max().item<int64_t>(), 8);
}

TEST(Sampler, WritesTheCompletionGridAndRefusesABertCheckpoint) {
  wbtest::TempDir dir;
  wbtest::write_pattern_dataset(dir / "data", 120, 40);
  wb::Store store(dir / "results.db");
  for (const std::string objective : {"ar", "bert"}) {
    auto exp = wb::parse_experiment(experiment(dir / "data", objective), dir / "s.toml", {},
                                    wbtest::plugins());
    ASSERT_TRUE(wb::run_experiment(exp, store, wbtest::plugins(), {}).ok());
    wb::SampleOptions opt;
    opt.images = 2;
    opt.samples = 1;
    opt.unconditional = 2;
    opt.out = dir / (objective + ".png");
    opt.artifacts_root = dir / "artifacts";
    if (objective == "bert") {
      try {
        wb::sample_run(exp.runs[0], wbtest::plugins(), opt);
        FAIL() << "a BERT checkpoint sampled";
      } catch (const wb::Error& e) {
        EXPECT_NE(std::string(e.what()).find("objective 'bert' is not autoregressive"),
                  std::string::npos)
            << e.what();
      }
      continue;
    }
    wb::sample_run(exp.runs[0], wbtest::plugins(), opt);
    // 7x7 images drawn 10x: 3 columns (original, top half, one completion) and 3 rows
    // (two test images, the unconditional samples), 1-pixel gaps.
    EXPECT_EQ(png_size(opt.out), std::make_pair(3u * 71 - 1, 3u * 71 - 1));
  }
  // No checkpoint yet: a clear error naming the command to run.
  auto fresh = wb::parse_experiment(experiment(dir / "data", "ar"), dir / "s.toml",
                                    {"training.steps=4"}, wbtest::plugins());
  wb::SampleOptions opt;
  opt.out = dir / "none.png";
  opt.artifacts_root = dir / "artifacts";
  try {
    wb::sample_run(fresh.runs[0], wbtest::plugins(), opt);
    FAIL();
  } catch (const wb::Error& e) {
    EXPECT_NE(std::string(e.what()).find("run the experiment with `workbench run` first"),
              std::string::npos)
        << e.what();
  }
}
