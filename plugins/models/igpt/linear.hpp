#pragma once
// The model's bias-free linear layers, y = x W^T, with their products split across
// LibTorch's threads on the CPU.
#include <torch/types.h>

namespace igpt {

// x: float (..., in), w: (out, in) -> (..., out). Differentiable in both.
torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& w);

}  // namespace igpt
