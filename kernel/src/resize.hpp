#pragma once
#include <torch/types.h>

namespace wb {

// uint8 (N, H, W, C) -> uint8 (N, size, size, C) by area averaging (exact for integer
// factors, the paper's safe default); a no-op when already that size.
torch::Tensor resize_area(const torch::Tensor& images, int64_t size);

}  // namespace wb
