#pragma once
// The paper's concatenation of layers (§5): the features of n consecutive layers
// centred on the best single layer, side by side, probed as one.
#include <vector>

#include <torch/types.h>

namespace probe {

// The n consecutive layers of 0..num_layers centred on `centre` (for an even n the
// extra layer is below it), shifted to lie inside the model: near the first or last
// layer the window slides rather than shrinks. Throws wb::Error when n is not in
// 1..num_layers + 1.
std::vector<int64_t> concat_window(int64_t centre, int64_t n, int64_t num_layers);

// per_layer: L + 1 tensors (N, d) -> (N, window.size() * d), the window's layers in order.
torch::Tensor concat_features(const std::vector<torch::Tensor>& per_layer,
                              const std::vector<int64_t>& window);

}  // namespace probe
