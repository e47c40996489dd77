#pragma once
// The model's bias-free linear layers, y = x W^T.
#include <torch/types.h>

namespace igpt {

// x: float (..., in), w: (out, in) -> (..., out). Differentiable in both; under autocast
// the product runs in bfloat16 (LibTorch's own operator, so autocast sees it).
torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& w);

}  // namespace igpt
