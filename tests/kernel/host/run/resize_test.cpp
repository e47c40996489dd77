// Resizing to the input resolution with each filter of dataset.resize.
#include <gtest/gtest.h>

#include <workbench/error.hpp>

#include "run/resize.hpp"

namespace {
// One 4x4 grey image: rows 0-1 are 0 and 100, rows 2-3 are 200 and 40, by column pairs.
torch::Tensor blocks() {
  return torch::tensor({0, 0, 100, 100, 0, 0, 100, 100, 200, 200, 40, 40, 200, 200, 40, 40},
                       torch::kUInt8)
      .view({1, 4, 4, 1});
}
}  // namespace

TEST(Resize, AreaAveragesEachBlockAndEveryFilterKeepsAFlatImageFlat) {
  auto area = wb::resize_images(blocks(), 2, "area");
  EXPECT_TRUE(torch::equal(area.view({4}), torch::tensor({0, 100, 200, 40}, torch::kUInt8)));
  auto noisy = torch::tensor({10, 30, 10, 30}, torch::kUInt8).repeat({4}).view({1, 4, 4, 1});
  EXPECT_EQ(wb::resize_images(noisy, 2, "area").view({4})[0].item<int>(), 20);
  auto flat = torch::full({2, 9, 9, 3}, 77, torch::kUInt8);
  for (const char* f : {"area", "bilinear", "bicubic", "nearest"}) {
    auto r = wb::resize_images(flat, 4, f);
    EXPECT_EQ(r.sizes(), (std::vector<int64_t>{2, 4, 4, 3})) << f;
    EXPECT_TRUE(torch::equal(r, torch::full({2, 4, 4, 3}, 77, torch::kUInt8))) << f;
  }
  // Nearest picks pixels, it never blends: only the block values appear.
  auto nearest = wb::resize_images(blocks(), 2, "nearest");
  for (int64_t i = 0; i < 4; ++i) {
    const int v = nearest.view({4})[i].item<int>();
    EXPECT_TRUE(v == 0 || v == 100 || v == 200 || v == 40) << v;
  }
  EXPECT_THROW(wb::resize_images(blocks(), 2, "lanczos"), wb::Error);
}
