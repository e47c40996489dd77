#pragma once
// One pass of the model over a split's tokens, keeping every layer's pooled features
// (what the probes read): the loop linear_probe and mask_ensemble share.
#include <vector>

#include <torch/types.h>
#include <workbench/context.hpp>
#include <workbench/evaluator.hpp>

namespace probe {

// tokens: int64 (N, S) -> L + 1 tensors float (N, d) on the CPU, layer 0 = embedding.
// Each batch goes through the objective's view of it (causal, or masked drawing from
// `gen`), in eval mode without gradients. Advances `progress` by the batch's size;
// returns an empty vector when the user asked the run to stop.
std::vector<torch::Tensor> pooled_features(const wb::EvalInputs& in, const torch::Tensor& tokens,
                                           torch::Generator& gen, int64_t batch_size,
                                           const wb::PluginContext& ctx, wb::Progress& progress);

}  // namespace probe
