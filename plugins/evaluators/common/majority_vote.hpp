#pragma once
// The mask ensemble's vote (paper §5, BERT): each input predicted under K independent
// masks, the class predicted most often wins.
#include <string>

#include <torch/types.h>
#include <workbench/objective.hpp>

namespace probe {

// predictions: int64 (K, N) in [0, classes) -> int64 (N), the most frequent class of
// each column; ties broken uniformly at random by `gen` (the same generator state
// always breaks them the same way).
torch::Tensor majority_vote(const torch::Tensor& predictions, int64_t classes,
                            torch::Generator& gen);

// Throws wb::Error, naming `evaluator`, when `objective` does not mask its input (AR):
// there is nothing to vote over. `gen` draws the one test mask.
void require_masking_objective(const wb::Objective& objective, torch::Generator& gen,
                               const std::string& evaluator);

}  // namespace probe
