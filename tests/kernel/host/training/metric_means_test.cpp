// Metric means over a log interval: weighted by each batch's share, a metric missing
// from some batches averaged over those that had it, and started over after a read.
#include <gtest/gtest.h>

#include "training/metric_means.hpp"

TEST(MetricMeans, WeightedMeansOverTheBatchesThatHadEachMetric) {
  wb::MetricMeans m;
  m.add({{"a", torch::tensor(1.0)}, {"b", torch::tensor(10.0f)}}, 1.0);
  m.add({{"a", torch::tensor(4.0)}}, 3.0);
  auto means = m.read();
  EXPECT_DOUBLE_EQ(means.at("a"), (1.0 + 3 * 4.0) / 4.0);
  EXPECT_DOUBLE_EQ(means.at("b"), 10.0);
  EXPECT_TRUE(m.empty());
  EXPECT_TRUE(m.read().empty());
}
