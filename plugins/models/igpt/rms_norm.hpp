#pragma once
// The blocks' RMS norm fused with the residual add before it. A pre-norm block reads
//   s = x + delta              (the residual stream, float32)
//   n = s * rsqrt(mean(s^2) + 1e-5) * g
// and the next matrix product reads n. Composed from LibTorch operations that is six
// passes over (N, S, d) forward and about ten backward, plus autocast's cast of n to
// bfloat16; here it is one pass each way over each row (the rows' sums in float32),
// with n written directly in the dtype the product wants: bfloat16 under CPU autocast,
// float32 otherwise. On other devices (CUDA) it is LibTorch's rms_norm (a fused kernel
// there, what F.rms_norm runs); on the CPU for widths that are not a multiple of 16,
// the composed operations. Measured (train_bench, against the composed operations):
// 3-4 % of the training step in bfloat16 at S1 and S2, 1-2 % in float32
// (docs/performance.md).
#include <utility>

#include <torch/types.h>

namespace igpt {

constexpr double kNormEps = 1e-5;

// x: float32 (..., d); delta: float32 or bfloat16 (..., d), or undefined (then s = x);
// g: float32 (d). Returns {s, n}, differentiable in x, delta and g.
std::pair<torch::Tensor, torch::Tensor> add_rms_norm(const torch::Tensor& x,
                                                     const torch::Tensor& delta,
                                                     const torch::Tensor& g);

// The composed reference: the same function from LibTorch operations.
std::pair<torch::Tensor, torch::Tensor> add_rms_norm_reference(const torch::Tensor& x,
                                                               const torch::Tensor& delta,
                                                               const torch::Tensor& g);

}  // namespace igpt
