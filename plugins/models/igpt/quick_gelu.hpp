#pragma once
#include <torch/types.h>

namespace igpt {

// x * sigmoid(1.702 x), the released code's GELU approximation, elementwise and
// differentiable. On the CPU (float32 or bfloat16, computed in float32 either way)
// forward and backward are one pass each over the (N, S, 4d) activations instead of the
// three and six of composed operations. On a GPU the same, by the kernels of
// cuda/quick_gelu_kernels.cu where the build had nvcc (quick_gelu_fused_on_cuda());
// composed operations otherwise.
torch::Tensor quick_gelu(const torch::Tensor& x);
bool quick_gelu_fused_on_cuda();

}  // namespace igpt
