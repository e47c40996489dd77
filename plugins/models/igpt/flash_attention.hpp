#pragma once
// The model's own fused attention on the CPU, FlashAttention-2 style: softmax(q k^T /
// sqrt(dh)) v without storing the (S x S) scores. Queries go in tiles of 64 rows, keys
// in tiles of 64; under the causal mask a tile above the diagonal is never computed.
// Every product of tiles is one call of oneDNN's batch-reduce GEMM micro-kernel
// (at::native::cpublas::brgemm, from LibTorch): bfloat16 products on AMX tiles where
// the CPU has them, float32 products (AVX-512 or AVX2) otherwise. The softmax is online
// (running max and sum per row, in float32) and the row's log-sum-exp is kept for the
// backward, which recomputes each tile's probabilities from it, precomputes D =
// rowsum(dO * O) and accumulates dQ, dK and dV in float32. One (batch, head) pair is
// one task of at::parallel_for. The elementwise parts are built for AVX-512 and for
// AVX2 with FMA (picked at load time by what the CPU has); a CPU with neither gets
// LibTorch's kernel (flash_attention_unsupported says so).
#include <string>

#include <torch/types.h>

namespace igpt {

// Why this CPU runs no version of the kernel ("" when it runs one); asked once.
const std::string& flash_attention_cpu_problem();

// Whether bfloat16 inputs are multiplied in bfloat16 here (AMX), not widened.
bool flash_attention_bf16_products();

// Whether the elementwise parts run their AVX-512 build on this CPU (not AVX2's).
bool flash_attention_avx512();

// How the products run for inputs of `dtype` on this CPU, in words: "bfloat16 on AMX
// tiles" or "float32" (bfloat16 inputs widened where there is no AMX).
std::string flash_attention_products(torch::ScalarType dtype);

// Why flash_attention() does not take these inputs ("" when it does): the model then
// calls LibTorch's kernel.
std::string flash_attention_unsupported(const torch::Tensor& q, const torch::Tensor& k,
                                        const torch::Tensor& v);

// q, k, v: (N, H, S, dh), any strides, float32 or bfloat16, on the CPU; dh a multiple
// of 16 up to 128. Returns (N, H, S, dh) in q's dtype; differentiable in q, k and v.
torch::Tensor flash_attention(const torch::Tensor& q, const torch::Tensor& k,
                              const torch::Tensor& v, bool causal);

}  // namespace igpt
