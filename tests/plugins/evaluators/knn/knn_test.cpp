// The kNN evaluator: the weighted vote on hand-made features (against the definition,
// computed here the long way), and its rows on data whose answer is known.
#include <gtest/gtest.h>

#include <workbench/workbench.hpp>

#include "../evaluator_fixture.hpp"
#include "knn_vote.hpp"  // plugins/evaluators/common

using wbtest::EvalFixture;

namespace {

// The vote by its definition, one query at a time, in double precision.
int64_t vote_by_hand(const torch::Tensor& train, const torch::Tensor& labels,
                     const torch::Tensor& q, int64_t k, double t, int64_t classes) {
  auto x = train.to(torch::kDouble), y = q.to(torch::kDouble);
  auto sim = x.matmul(y) / (x.norm(2, 1) * y.norm());
  auto order = sim.argsort(0, /*descending=*/true);
  std::vector<double> votes(classes, 0.0);
  for (int64_t i = 0; i < k; ++i) {
    const int64_t j = order[i].item<int64_t>();
    votes[labels[j].item<int64_t>()] += std::exp(sim[j].item<double>() / t);
  }
  return std::max_element(votes.begin(), votes.end()) - votes.begin();
}

}  // namespace

TEST(KnnVote, EqualsTheWeightedVoteOfTheKMostSimilar) {
  torch::manual_seed(4);
  auto train = torch::randn({300, 8}), query = torch::randn({50, 8});
  auto labels = torch::randint(0, 3, {300}, torch::kLong);
  for (const auto& [k, t] : {std::pair<int64_t, double>{1, 0.07}, {5, 0.07}, {20, 1.0}}) {
    auto pred = probe::knn_vote(train, labels, query, k, t, 3);
    ASSERT_EQ(pred.sizes(), torch::IntArrayRef({50}));
    for (int64_t i = 0; i < 50; ++i)
      EXPECT_EQ(pred[i].item<int64_t>(), vote_by_hand(train, labels, query[i], k, t, 3))
          << "query " << i << " k " << k << " T " << t;
  }
  // Scale does not matter (cosine), and k past the training set is all of it.
  EXPECT_TRUE(torch::equal(probe::knn_vote(train * 7, labels, query, 5, 0.07, 3),
                           probe::knn_vote(train, labels, query, 5, 0.07, 3)));
  EXPECT_EQ(probe::knn_vote(train, labels, query, 1000, 0.07, 3).size(0), 50);
}

TEST(Knn, ReportsAccuracyPerLayerAndTheBestLayerOnVal) {
  EvalFixture f("ar", "knn", {"evaluators.0.k=5"});
  f.evaluator->evaluate(f.in);
  auto rows = f.rows();
  for (int64_t layer = 0; layer <= 2; ++layer)
    for (const std::string split : {"val", "test"})
      ASSERT_TRUE(rows.count("accuracy/" + std::to_string(layer) + "/" + split)) << layer;
  ASSERT_TRUE(rows.count("best_layer/-1/val"));
  // The classes use disjoint tokens, so even the embedding's mean separates them.
  EXPECT_GE(rows.at("accuracy/0/test"), 0.9);
  EXPECT_GE(rows.at("best_layer_accuracy/-1/test"), 0.9);
}
