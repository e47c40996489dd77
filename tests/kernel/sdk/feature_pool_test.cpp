// The SDK's pooling of per-position states into probe features (feature_pool.hpp): the
// paper's mean, region means laid out in raster order, and the shapes it refuses.
#include <gtest/gtest.h>

#include <workbench/feature_pool.hpp>

TEST(FeaturePool, GridOneIsTheMeanAndAGridAsFineAsTheImageKeepsEveryPosition) {
  auto h = torch::randn({3, 16, 5});  // 3 images of 4x4 positions, 5 channels
  EXPECT_TRUE(torch::equal(wb::pool_positions(h, 1), h.mean(1)));
  // One region per position: the positions side by side, in raster order.
  EXPECT_TRUE(torch::allclose(wb::pool_positions(h, 4), h.reshape({3, 16 * 5})));
}

TEST(FeaturePool, TwoByTwoAveragesEachQuadrantOfTheImage) {
  auto h = torch::randn({2, 16, 3});  // 4x4 positions; quadrant (r, c) = rows 2r..2r+1
  auto pooled = wb::pool_positions(h, 2);
  ASSERT_EQ(pooled.sizes(), (std::vector<int64_t>{2, 4 * 3}));
  const std::vector<std::vector<int64_t>> quadrants = {
      {0, 1, 4, 5}, {2, 3, 6, 7}, {8, 9, 12, 13}, {10, 11, 14, 15}};
  for (int64_t q = 0; q < 4; ++q) {
    auto expected = h.index_select(1, torch::tensor(quadrants[q])).mean(1);  // (2, 3)
    EXPECT_TRUE(torch::allclose(pooled.slice(1, 3 * q, 3 * q + 3), expected)) << "quadrant " << q;
  }
  // The quadrants' mean is the global mean: the grid only adds where, never loses what.
  EXPECT_TRUE(torch::allclose(pooled.view({2, 4, 3}).mean(1), h.mean(1), 1e-5, 1e-6));
}

TEST(FeaturePool, RefusesANonSquareSequenceAndAGridFinerThanTheImage) {
  EXPECT_THROW(wb::pool_positions(torch::zeros({1, 15, 2}), 2), wb::Error);
  EXPECT_THROW(wb::pool_positions(torch::zeros({1, 16, 2}), 5), wb::Error);
  EXPECT_NO_THROW(wb::pool_positions(torch::zeros({1, 15, 2}), 1));  // the mean needs no shape
}
