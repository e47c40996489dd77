#pragma once
// The weighted k-nearest-neighbour classifier on features (Wu et al. 2018, as DINO and
// VISSL report it beside the linear probe): cosine similarity to every training
// feature, the k most similar vote for their class with weight exp(similarity / T).
#include <torch/types.h>

namespace probe {

// train: float (N, d), labels int64 (N) in [0, classes); query: float (M, d) ->
// int64 (M), the class with the largest summed weight among each query's k nearest
// training features (k capped at N; a tie goes to the smaller class index).
torch::Tensor knn_vote(const torch::Tensor& train, const torch::Tensor& labels,
                       const torch::Tensor& query, int64_t k, double temperature, int64_t classes);

}  // namespace probe
