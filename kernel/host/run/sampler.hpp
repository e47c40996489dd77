#pragma once
// Image completion and unconditional samples from a pretrained AR checkpoint (paper
// Figure 1): the bottom half of test images sampled given the top half, with the
// model's key/value cache, decoded through the palette into a PNG grid.
#include <string>
#include <vector>

#include <workbench/model.hpp>

#include "experiment/experiment.hpp"
#include "plugins/plugin_registry.hpp"

namespace wb {

struct SampleOptions {
  int64_t images = 8;         // test images to complete, one grid row each
  int64_t samples = 4;        // completions per image
  int64_t unconditional = 8;  // samples from nothing, one extra row
  double temperature = 1.0;   // softmax temperature of the sampled tokens
  uint64_t seed = 0;          // of the sampled tokens
  int64_t scale = 0;          // pixels per image pixel in the PNG; 0 = at least 64 px a side
  std::string out;            // PNG path
  std::string artifacts_root;
};

// tokens int64 (N, S): positions < keep are kept, the rest sampled one at a time from
// softmax(logits / temperature). Needs a model that decodes incrementally.
torch::Tensor complete(Model& model, const torch::Tensor& tokens, int64_t keep, double temperature,
                       torch::Generator& gen);

// Rows of images, uint8 (K, H, W, C) each (rows may differ in K), side by side with a
// 1-pixel white gap, each pixel drawn scale x scale. Throws naming the path on failure.
void write_png_grid(const std::string& path, const std::vector<torch::Tensor>& rows, int64_t scale);

// Completes the test images of run `rc` from its pretrained checkpoint (which must
// exist: `workbench run` first) and writes the grid: per row the original, its top
// half, then `samples` completions; a last row of unconditional samples.
void sample_run(const RunConfig& rc, const PluginRegistry& reg, const SampleOptions& options);

}  // namespace wb
