#pragma once
// Scaled dot-product attention of the iGPT blocks, causal (AR) or bidirectional (BERT).
#include <torch/types.h>

namespace igpt {

// q, k, v: float (N, H, S, dh) -> (N, H, S, dh), softmax(q k^T / sqrt(dh) [+ causal mask]) v.
// With LibTorch 2.x its fused scaled_dot_product_attention (CPU and CUDA); with 1.x
// strip_attention on the CPU and the textbook product elsewhere.
torch::Tensor attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        bool causal);

// CPU, float32: one head and one strip of query rows at a time, heads across threads;
// never forms the (S x S) scores and skips the masked half under the causal mask.
torch::Tensor strip_attention(const torch::Tensor& q, const torch::Tensor& k,
                              const torch::Tensor& v, bool causal);

// The textbook product, materialising (N, H, S, S) scores: the reference in tests and
// benchmarks.
torch::Tensor attention_reference(const torch::Tensor& q, const torch::Tensor& k,
                                  const torch::Tensor& v, bool causal);

}  // namespace igpt
