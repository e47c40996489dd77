// `--shard i/n`: the form it takes, and that the shares of n machines partition the
// runs, stably, keeping runs of one checkpoint together.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "distributed/shard.hpp"
#include "test_support.hpp"

TEST(Shard, ParsesIOverNAndRefusesAnythingElse) {
  const auto s = wb::parse_shard("1/3");
  EXPECT_EQ(s.index, 1);
  EXPECT_EQ(s.count, 3);
  for (const std::string bad :
       {"3/3", "0/0", "1", "-1/2", "a/b", "1/2/3", "1/99999999999999999999"})
    EXPECT_THROW(wb::parse_shard(bad), wb::Error) << bad;
}

TEST(Shard, TheSharesPartitionTheRunsAndKeepACheckpointsRunsTogether) {
  // Two variants that differ only in the evaluator share a checkpoint; a sweep over the
  // learning rate gives four checkpoints.
  auto exp = wb::parse_experiment(wbtest::minimal_experiment() + R"(
[[evaluators]]
plugin = "linear_probe"
[sweep.training]
lr = [0.001, 0.002, 0.003, 0.004]
[variants.a]
"evaluators.0.max_iter" = 10
[variants.b]
"evaluators.0.max_iter" = 20
)",
                                  "shard.toml", {}, wbtest::plugins());
  ASSERT_EQ(exp.runs.size(), 8u);
  for (int64_t n : {1, 2, 3}) {
    std::map<std::string, int> taken;  // run hash -> shares that took it
    std::map<std::string, std::set<int64_t>> shares_of_checkpoint;
    for (int64_t i = 0; i < n; ++i)
      for (const auto& r : wb::select_shard(exp, {i, n}).runs) {
        ++taken[r.hash];
        shares_of_checkpoint[r.pretrain_hash].insert(i);
        EXPECT_TRUE(wb::in_shard(r.pretrain_hash, {i, n}));  // the same answer every time
      }
    EXPECT_EQ(taken.size(), exp.runs.size()) << n << " shares";
    for (const auto& [hash, k] : taken) EXPECT_EQ(k, 1) << hash;
    for (const auto& [hash, shares] : shares_of_checkpoint) EXPECT_EQ(shares.size(), 1u) << hash;
  }
}
