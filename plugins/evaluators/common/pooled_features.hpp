#pragma once
// One pass of the model over a split's tokens, keeping every layer's pooled features
// (what the probes read), and the per-checkpoint cache of those passes that every
// probing evaluator of a run shares.
#include <map>
#include <string>
#include <vector>

#include <torch/types.h>
#include <workbench/context.hpp>
#include <workbench/evaluator.hpp>

namespace probe {

// tokens: int64 (N, S) -> L + 1 tensors float (N, d) on the CPU, layer 0 = embedding;
// (N, grid * grid * d) with grid > 1 (region means, wb::pool_positions).
// Each batch goes through the objective's view of it (causal, or masked drawing from
// `gen`), in eval mode without gradients. Advances `progress` by the batch's size;
// returns an empty vector when the user asked the run to stop.
std::vector<torch::Tensor> pooled_features(const wb::EvalInputs& in, const torch::Tensor& tokens,
                                           torch::Generator& gen, int64_t batch_size,
                                           const wb::PluginContext& ctx, wb::Progress& progress,
                                           int64_t grid = 1);

// split ("train", "val", "test") -> L + 1 tensors (N, d).
using SplitFeatures = std::map<std::string, std::vector<torch::Tensor>>;

// Every layer's pooled features of the three splits, extracted once per checkpoint and
// kept as its "features" artifact: the evaluators of a run (linear_probe,
// mask_ensemble's first mask) and later re-runs read that file instead of running the
// model again. A masking objective's one mask per input is drawn from a generator
// seeded by the checkpoint key alone, so the file is the same whichever evaluator
// writes it. One file per grid. Empty when the user asked the run to stop.
SplitFeatures shared_pooled_features(const wb::EvalInputs& in, int64_t batch_size,
                                     const wb::PluginContext& ctx, int64_t grid = 1);

}  // namespace probe
