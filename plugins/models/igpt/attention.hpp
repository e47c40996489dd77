#pragma once
// Scaled dot-product attention of the iGPT blocks, causal (AR) or bidirectional (BERT).
#include <torch/types.h>

namespace igpt {

// q, k, v: float (N, H, S, dh) -> (N, H, S, dh), softmax(q k^T / sqrt(dh) [+ causal mask]) v.
// On the CPU (float32) a strip-by-strip kernel that never forms the (S x S) scores and
// skips the masked half under the causal mask; elsewhere LibTorch's fused kernel (2.x)
// or the textbook product.
torch::Tensor attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        bool causal);

// The textbook product, materialising (N, H, S, S) scores: the reference in tests and
// benchmarks.
torch::Tensor attention_reference(const torch::Tensor& q, const torch::Tensor& k,
                                  const torch::Tensor& v, bool causal);

}  // namespace igpt
