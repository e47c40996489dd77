// The SDK's loss helper for objectives (objective.hpp).
#include <torch/nn/functional/loss.h>
#include <workbench/objective.hpp>

namespace wb {

torch::Tensor weighted_cross_entropy(const TrainingBatch& batch, const ForwardOutput& output) {
  const int64_t vocab = output.logits.size(-1);
  // float32 whatever the logits' precision: log-softmax sums over the whole palette.
  auto nats = torch::nn::functional::cross_entropy(
      output.logits.reshape({-1, vocab}).to(torch::kFloat32), batch.targets.reshape({-1}),
      torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));  // (N*S)
  return (nats * batch.weights.reshape({-1}).to(torch::kFloat32)).sum();
}

}  // namespace wb
