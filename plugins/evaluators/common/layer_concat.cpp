#include "layer_concat.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <workbench/error.hpp>

namespace probe {

std::vector<int64_t> concat_window(int64_t centre, int64_t n, int64_t num_layers) {
  if (n < 1 || n > num_layers + 1)
    throw wb::Error(fmt::format("concat = {}: the model has {} layers to concatenate (0..{})", n,
                                num_layers + 1, num_layers));
  int64_t first = centre - n / 2;
  first = std::clamp<int64_t>(first, 0, num_layers + 1 - n);
  std::vector<int64_t> window(n);
  for (int64_t i = 0; i < n; ++i) window[i] = first + i;
  return window;
}

torch::Tensor concat_features(const std::vector<torch::Tensor>& per_layer,
                              const std::vector<int64_t>& window) {
  std::vector<torch::Tensor> parts;
  for (int64_t l : window) parts.push_back(per_layer.at(l));
  return torch::cat(parts, /*dim=*/1);
}

}  // namespace probe
