#include "majority_vote.hpp"

#include <torch/torch.h>
#include <workbench/error.hpp>

namespace probe {

torch::Tensor majority_vote(const torch::Tensor& predictions, int64_t classes,
                            torch::Generator& gen) {
  const int64_t n = predictions.size(1);
  // Votes per class (N, classes); each count plus a random fraction below 1/2 so that
  // only tied maxima compete and among them the draw decides.
  auto votes = torch::zeros({n, classes}, torch::kFloat64);
  votes.scatter_add_(1, predictions.t().contiguous(),
                     torch::ones(predictions.t().sizes(), torch::kFloat64));
  auto jitter = torch::rand({n, classes}, gen, torch::kFloat64) * 0.5;
  return (votes + jitter).argmax(1);
}

void require_masking_objective(const wb::Objective& objective, torch::Generator& gen,
                               const std::string& evaluator) {
  if (!objective.prepare(torch::zeros({1, 1}, torch::kLong), gen).input.masked.defined())
    throw wb::Error(evaluator +
                    ": this checkpoint's objective does not mask its input (an AR "
                    "checkpoint?); the mask ensemble needs a masked objective such as bert");
}

}  // namespace probe
