#pragma once
#include <torch/types.h>

namespace igpt {

// x * sigmoid(1.702 x), the released code's GELU approximation, elementwise and
// differentiable. On the CPU (float32 or bfloat16, computed in float32 either way)
// forward and backward are one pass each over the (N, S, 4d) activations instead of the
// three and six of composed operations.
torch::Tensor quick_gelu(const torch::Tensor& x);

}  // namespace igpt
