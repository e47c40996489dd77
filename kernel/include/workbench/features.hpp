#pragma once
// The run's feature service: every layer's pooled features of the pretrained model, as
// the probes read them, computed once per key whichever evaluator asks first and kept
// as a checked "features" artifact. What determines them is the key: the checkpoint
// (its configuration, plugins' code and tokens), the pooling grid, the precision and
// the objective's view of each input, masks included: the mask draw is the run's
// (mask_generator), the same for every evaluator, bundled or not.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <torch/types.h>

#include <workbench/context.hpp>
#include <workbench/export.hpp>

namespace wb {

// L + 1 tensors, float32 on the CPU, layer 0 = the embedding: (N, d) for grid 1, else
// (N, grid * grid * d) (region means, wb::pool_positions).
using LayerFeatures = std::vector<torch::Tensor>;
// "train", "val", "test" -> that split's features.
using SplitFeatures = std::map<std::string, LayerFeatures>;

class WB_API FeatureService {
 public:
  virtual ~FeatureService();

  // The three splits' features under the objective's view with the run's masks (one
  // per input, from mask_generator(split)). From the cache when another evaluator, or
  // an earlier run of the same checkpoint, made them (checked against its SHA-256
  // record); else one pass of the model over each split, `batch_size` images at a
  // time, then written. Empty when the user asked the run to stop.
  virtual SplitFeatures pooled(int64_t grid, int64_t batch_size) = 0;

  // One uncached pass over `tokens` (int64 (N, S)), its masks drawn from `gen`: for
  // views the cache does not hold (a mask ensemble's further masks). Advances
  // `progress` by each batch; empty when the user asked the run to stop.
  virtual LayerFeatures pass(const torch::Tensor& tokens, torch::Generator& gen, int64_t batch_size,
                             Progress& progress, int64_t grid = 1) = 0;

  // The run's mask draw for `split`: a generator seeded by the checkpoint and the split
  // alone, so every evaluator, and every run of the checkpoint, sees the same masks.
  virtual torch::Generator mask_generator(const std::string& split) const = 0;
};

}  // namespace wb
