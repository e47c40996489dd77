// The SDK's dataset helpers (workbench/data.hpp): the seeded validation split, the
// low-data subsets, the paper's augmentation and the file reader's errors.
#include <gtest/gtest.h>

#include <fstream>

#include <workbench/workbench.hpp>

#include "test_support.hpp"

namespace {

torch::Generator gen(uint64_t seed) {
  return torch::make_generator<at::CPUGeneratorImpl>(seed);
}

// n images whose first pixel is their index, labels i % classes.
wb::ImageSplit numbered(int64_t n, int64_t classes) {
  auto images = torch::zeros({n, 2, 2, 1}, torch::kUInt8);
  images.select(1, 0).select(1, 0).select(1, 0).copy_(torch::arange(n) % 256);
  return {images, torch::arange(n, torch::kLong) % classes};
}

}  // namespace

TEST(SplitOffValidation, PartitionsTheSetKeepsFileOrderAndRepeatsForASeed) {
  auto all = numbered(200, 10);
  auto g1 = gen(1), g2 = gen(1), g3 = gen(2);
  auto [train, val] = wb::split_off_validation(all, 0.1, g1);
  EXPECT_EQ(train.images.size(0), 180);
  EXPECT_EQ(val.images.size(0), 20);
  auto ids = [](const wb::ImageSplit& s) {
    return s.images.select(1, 0).select(1, 0).select(1, 0).to(torch::kLong);
  };
  auto both = torch::cat({ids(train), ids(val)});
  EXPECT_TRUE(torch::equal(std::get<0>(both.sort()), torch::arange(200, torch::kLong)));
  EXPECT_TRUE(torch::equal(ids(val), std::get<0>(ids(val).sort())));  // file order
  EXPECT_TRUE(torch::equal(ids(val), ids(wb::split_off_validation(all, 0.1, g2).second)));
  EXPECT_FALSE(torch::equal(ids(val), ids(wb::split_off_validation(all, 0.1, g3).second)));
}

TEST(ClassBalancedSubset, TakesPerClassOfEveryClassAndSeedsDrawOtherSubsets) {
  auto labels = torch::arange(500, torch::kLong) % 10;
  auto g1 = gen(1), g2 = gen(2);
  auto a = wb::class_balanced_subset(labels, 4, g1);
  EXPECT_EQ(a.size(0), 40);
  EXPECT_TRUE(
      torch::equal(torch::bincount(labels.index_select(0, a)), torch::full({10}, 4, torch::kLong)));
  auto b = wb::class_balanced_subset(labels, 4, g2);
  EXPECT_FALSE(torch::equal(a, b));
  auto g3 = gen(3);
  EXPECT_THROW(wb::class_balanced_subset(labels, 51, g3), wb::Error);  // 50 per class
}

TEST(PadCropFlip, EachImageIsAShiftedPossiblyMirroredCropOfItsReflectionPadding) {
  const int64_t n = 64, h = 6, w = 5, pad = 2;
  auto images = torch::randint(0, 256, {n, h, w, 3}, gen(7), torch::kLong).to(torch::kUInt8);
  auto g = gen(8);
  auto out = wb::pad_crop_flip(images, pad, g);
  ASSERT_EQ(out.sizes(), images.sizes());
  int flipped = 0, shifted = 0;
  for (int64_t i = 0; i < n; ++i) {
    // Reflection padding written out by hand: index -k maps to k, H-1+k to H-1-k.
    auto reflect = [](int64_t j, int64_t size) {
      return j < 0 ? -j : (j >= size ? 2 * (size - 1) - j : j);
    };
    bool found = false;
    for (int64_t dy = 0; dy <= 2 * pad && !found; ++dy)
      for (int64_t dx = 0; dx <= 2 * pad && !found; ++dx)
        for (int flip = 0; flip < 2 && !found; ++flip) {
          bool same = true;
          for (int64_t y = 0; y < h && same; ++y)
            for (int64_t x = 0; x < w && same; ++x) {
              const int64_t xx = flip ? w - 1 - x : x;
              const int64_t sy = reflect(y + dy - pad, h), sx = reflect(xx + dx - pad, w);
              same = torch::equal(out[i][y][x], images[i][sy][sx]);
            }
          if (same) {
            found = true;
            flipped += flip;
            shifted += (dy != pad || dx != pad);
          }
        }
    EXPECT_TRUE(found) << "image " << i << " is no crop of its padding";
  }
  EXPECT_GT(flipped, 16);  // about half of 64 flip
  EXPECT_GT(shifted, 48);  // 24 of 25 offsets move the image
}

TEST(DataFile, ReadsGzipTransparentlyAndNamesTheFileWhenTruncated) {
  wbtest::TempDir dir;
  std::ofstream(dir / "raw.bin") << "abc";
  wb::DataFile f(dir / "raw.bin");
  char buf[8];
  try {
    f.read_exact(buf, 5, "record 0");
    FAIL();
  } catch (const wb::Error& e) {
    EXPECT_NE(std::string(e.what()).find(dir / "raw.bin: truncated: the file ends 3 bytes into "
                                               "record 0 (5 bytes expected)"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(wb::DataFile(dir / "missing.bin"), wb::Error);
  wbtest::write_idx_labels(dir / "labels.gz", torch::arange(3, torch::kLong), /*gzip=*/true);
  wb::DataFile gz(dir / "labels.gz");
  EXPECT_EQ(gz.read_be32("magic"), 0x00000801u);
}
