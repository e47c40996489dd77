// The token cache: dataset, resolution and quantizer switch by config alone; a second
// run reuses the palette and tokens without refitting; a changed input file remakes them.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "run/tokens.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;

namespace {

struct Pipeline {
  Pipeline(const std::string& toml, const std::vector<std::string>& sets, wb::ArtifactCache& cache)
      : rc(wbtest::run_config(toml, sets)),
        dataset_host(rc.at("dataset")),
        quantizer_host(rc.at("quantizer")),
        quantizer(wbtest::plugins().create<wb::Quantizer>(rc.at("quantizer").get_string("plugin"),
                                                          *quantizer_host.context)),
        tokens(wb::load_tokens(rc, wbtest::plugins(), *dataset_host.context, *quantizer, cache)) {}
  wb::RunConfig rc;
  wbtest::HostFixture dataset_host, quantizer_host;
  std::shared_ptr<wb::Quantizer> quantizer;
  wb::TokenData tokens;
};

}  // namespace

TEST(Tokens, DatasetResolutionAndQuantizerSwitchByConfigAlone) {
  wbtest::TempDir dir;
  wb::StoreArtifacts cache(dir / "artifacts", nullptr, 0);
  Pipeline p(wbtest::minimal_experiment(),
             {"dataset.plugin=synthetic", "dataset.size=16", "dataset.train=60", "dataset.test=20",
              "dataset.resolution=8", "dataset.resize=bilinear", "quantizer.plugin=kmeans",
              "quantizer.k=8"},
             cache);
  EXPECT_EQ(p.tokens.height, 8);
  EXPECT_EQ(p.tokens.num_classes, 10);
  EXPECT_EQ(p.tokens.splits["train"].tokens.sizes(), (std::vector<int64_t>{54, 64}));
  EXPECT_EQ(p.tokens.splits["test"].tokens.size(0), 20);
  EXPECT_LT(p.tokens.splits["test"].tokens.max().item<int64_t>(), 8);
  EXPECT_EQ(p.quantizer->vocab_size(), 8);
}

TEST(Tokens, ASecondRunReusesPaletteAndTokensAndAChangedInputRemakesThem) {
  wbtest::TempDir dir;
  wbtest::write_pattern_dataset(dir / "data", 200, 50);
  wb::StoreArtifacts cache(dir / "artifacts", nullptr, 0);
  const std::vector<std::string> sets = {"dataset.resolution=7", "quantizer.plugin=kmeans",
                                         "quantizer.k=6"};
  const std::string toml = wbtest::minimal_experiment(fmt::format("path = \"{}\"", dir / "data"));
  Pipeline first(toml, sets, cache);
  EXPECT_FALSE(first.tokens.reused);
  const std::string palette = cache.dir("tokens", first.rc.data_hash) + "/palette.pt";
  const auto written = fs::last_write_time(palette);

  Pipeline second(toml, sets, cache);
  EXPECT_TRUE(second.tokens.reused);  // no dataset read, no k-means fit
  EXPECT_EQ(fs::last_write_time(palette), written);
  EXPECT_TRUE(
      torch::equal(second.tokens.splits["test"].tokens, first.tokens.splits["test"].tokens));
  // The loaded palette encodes as the fitted one did.
  auto images = torch::randint(0, 256, {3, 7, 7, 1}, torch::kLong).to(torch::kUInt8);
  EXPECT_TRUE(torch::equal(second.quantizer->encode(images), first.quantizer->encode(images)));

  // Another resolution is another cache.
  Pipeline other(toml, {"dataset.resolution=14", "quantizer.plugin=kmeans", "quantizer.k=6"},
                 cache);
  EXPECT_FALSE(other.tokens.reused);

  // New images in the same files: the cache notices and remakes the tokens.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  wbtest::write_pattern_dataset(dir / "data", 200, 60);
  Pipeline third(toml, sets, cache);
  EXPECT_FALSE(third.tokens.reused);
  EXPECT_EQ(third.tokens.splits["test"].tokens.size(0), 60);
}

// An edit in place that keeps the file's size and restores its modification time (as
// `touch -r` or a copy tool preserving times would) still remakes the tokens.
TEST(Tokens, AnInPlaceEditKeepingSizeAndModificationTimeRemakesTheTokens) {
  wbtest::TempDir dir;
  wbtest::write_pattern_dataset(dir / "data", 200, 50, /*gzip=*/false);
  wb::StoreArtifacts cache(dir / "artifacts", nullptr, 0);
  const std::vector<std::string> sets = {"dataset.resolution=7", "quantizer.plugin=grey",
                                         "quantizer.levels=16"};
  const std::string toml = wbtest::minimal_experiment(fmt::format("path = \"{}\"", dir / "data"));
  Pipeline first(toml, sets, cache);
  ASSERT_FALSE(first.tokens.reused);

  // Complement the last four pixel rows of each image file, then put size and modification time
  // back.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  for (const auto& e : fs::directory_iterator(dir / "data")) {
    if (e.path().filename().string().find("images") == std::string::npos) continue;
    const auto size = fs::file_size(e.path());
    const auto mtime = fs::last_write_time(e.path());
    std::fstream f(e.path(), std::ios::in | std::ios::out | std::ios::binary);
    const auto tail = static_cast<std::streamoff>(size - 4 * 28);  // the last four rows
    std::string bytes(4 * 28, '\0');
    f.seekg(tail);
    f.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    for (auto& b : bytes) b = static_cast<char>(~b);
    f.seekp(tail);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    f.close();
    fs::last_write_time(e.path(), mtime);
    ASSERT_EQ(fs::file_size(e.path()), size);
    ASSERT_EQ(fs::last_write_time(e.path()), mtime);
  }
  Pipeline second(toml, sets, cache);
  EXPECT_FALSE(second.tokens.reused);
  EXPECT_FALSE(
      torch::equal(second.tokens.splits["test"].tokens, first.tokens.splits["test"].tokens));
}

TEST(Tokens, TheUnlabeledSplitIsEncodedForPretrainingWhenAsked) {
  wbtest::TempDir dir;
  wb::StoreArtifacts cache(dir / "artifacts", nullptr, 0);
  const std::string toml = wbtest::minimal_experiment(
      fmt::format("path = \"{}\"\nunlabeled = true\nresolution = 8", WB_TEST_DATA_DIR "/stl10"));
  Pipeline p(toml, {"dataset.plugin=stl10"}, cache);
  ASSERT_TRUE(p.tokens.unlabeled.defined());
  EXPECT_EQ(p.tokens.unlabeled.sizes(), (std::vector<int64_t>{2, 64}));
  Pipeline again(toml, {"dataset.plugin=stl10"}, cache);
  EXPECT_TRUE(again.tokens.reused);
  EXPECT_TRUE(torch::equal(again.tokens.unlabeled, p.tokens.unlabeled));
}

// What evaluators get through EvalInputs::images: the pixels the tokens were made from,
// so an augmentation followed by encode sees the same images the probes see as tokens.
TEST(Tokens, LoadImagesGivesThePixelsTheCachedTokensEncode) {
  wbtest::TempDir dir;
  wbtest::write_pattern_dataset(dir / "data", 120, 40);
  wb::StoreArtifacts cache(dir / "artifacts", nullptr, 0);
  const std::string toml = wbtest::minimal_experiment(
      fmt::format("path = \"{}\"\nresolution = 7\nmax_eval = 30", dir / "data"));
  Pipeline p(toml, {}, cache);
  auto dataset = wbtest::plugins().create<wb::Dataset>("fashion_mnist", *p.dataset_host.context);
  for (const std::string split : {"train", "val", "test"}) {
    auto images = wb::load_images(p.rc, *dataset, split);
    EXPECT_EQ(images.images.size(1), 7) << split;
    EXPECT_TRUE(torch::equal(p.quantizer->encode(images.images), p.tokens.splits[split].tokens))
        << split;
    EXPECT_TRUE(torch::equal(images.labels, p.tokens.splits[split].labels)) << split;
  }
}
