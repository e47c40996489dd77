#pragma once
// The model's own fused attention on the CPU, FlashAttention-2 style: softmax(q k^T /
// sqrt(dh)) v without storing the (S x S) scores. Queries go in groups of 4 rows, keys
// in tiles of 64 (held transposed, one contiguous block a tile); under the causal mask
// a tile above the diagonal is never computed, and a diagonal tile only up to each
// group's last key. The softmax is online (running
// max and sum per row) and the row's log-sum-exp is kept for the backward, which
// recomputes each tile's probabilities from it, precomputes D = rowsum(dO * O) and
// accumulates dQ, dK and dV in float32. One (batch, head) pair is one task of
// at::parallel_for. Float32 arithmetic whatever the input (bfloat16 inputs, under
// autocast, are widened on the way in and the results narrowed on the way out).
// Built for AVX-512 and for AVX2 with FMA (picked at load time by what the CPU has);
// a CPU with neither gets LibTorch's kernel (flash_attention_unsupported says so).
#include <string>

#include <torch/types.h>

namespace igpt {

// Why this CPU runs no version of the kernel ("" when it runs one); asked once.
const std::string& flash_attention_cpu_problem();

// Why flash_attention() does not take these inputs ("" when it does): the model then
// calls LibTorch's kernel.
std::string flash_attention_unsupported(const torch::Tensor& q, const torch::Tensor& k,
                                        const torch::Tensor& v);

// q, k, v: (N, H, S, dh), any strides, float32 or bfloat16, on the CPU; dh a multiple
// of 16 up to 128. Returns (N, H, S, dh) in q's dtype; differentiable in q, k and v.
torch::Tensor flash_attention(const torch::Tensor& q, const torch::Tensor& k,
                              const torch::Tensor& v, bool causal);

}  // namespace igpt
