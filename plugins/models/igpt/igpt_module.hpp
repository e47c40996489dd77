#pragma once
// The iGPT transformer (paper §2): a GPT-2 decoder with pre-norm blocks, an RMS-style
// norm (no mean subtraction, no bias), no biases anywhere, quick GELU in a 4d MLP,
// learned position embeddings, a learned start-of-sequence vector, and an untied,
// zero-initialised output head.
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>

namespace igpt {

// Which attention kernel the blocks run (the model's `attention` key): the own kernel
// (flash_attention.hpp) where it takes the inputs, else LibTorch's fused attention.
// Auto: on a CPU the own kernel where it measured faster than LibTorch's
// (BlockImpl::takes_own_attention, docs/performance.md), LibTorch's otherwise; on a
// GPU LibTorch's with cuDNN's kernel asked for first. LibTorch: LibTorch's kernel in
// its own order of preference.
enum class Attention { Auto, Own, LibTorch };

struct Dims {
  int64_t layers, width, heads, vocab, context;
  Attention attention = Attention::Auto;
};

// x * rsqrt(mean(x^2) + 1e-5) * g, g starting at 1.
struct RmsNormImpl : torch::nn::Module {
  explicit RmsNormImpl(int64_t d);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor g;
};
TORCH_MODULE(RmsNorm);

// Keys and values of one block for incremental decoding: (N, H, context, dh) each,
// positions [0, t) filled.
struct KvCache {
  torch::Tensor k, v;
};

struct BlockImpl : torch::nn::Module {
  BlockImpl(const Dims& dims);
  // One causal position t: x (N, 1, d) attends to the cached positions < t and itself;
  // its key and value are written to the cache at t.
  torch::Tensor forward_step(const torch::Tensor& x, KvCache& cache, int64_t t);
  // The two branches, each from its normalised input h (N, S, d) to what is added to
  // the residual stream (N, S, d). Attention: proj(attention(q, k, v)).
  torch::Tensor attend(const torch::Tensor& h, bool causal);
  // The MLP: fc_out(quick_gelu(fc(h))).
  torch::Tensor feed_forward(const torch::Tensor& h);
  // q, k, v of the normalised input: (N, S, d) -> (N, S, 3d).
  torch::Tensor qkv(const torch::Tensor& h);
  // Whether attend() asks the own attention kernel for q (N, H, S, dh) of S tokens.
  bool takes_own_attention(const torch::Tensor& q, int64_t s) const;
  int64_t heads;
  Attention attention;
  RmsNorm ln_1{nullptr}, ln_2{nullptr};
  torch::nn::Linear q{nullptr}, k{nullptr}, v{nullptr}, proj{nullptr}, fc{nullptr}, fc_out{nullptr};
};
TORCH_MODULE(Block);

struct TransformerImpl : torch::nn::Module {
  explicit TransformerImpl(const Dims& dims);
  Dims dims;
  torch::nn::Embedding wte{nullptr};
  torch::Tensor wpe;  // (context, d)
  torch::Tensor sos;  // (d)
  torch::nn::ModuleList blocks;
  std::vector<Block> block_list;
  RmsNorm ln_f{nullptr};
  torch::nn::Linear head{nullptr};
};
TORCH_MODULE(Transformer);

}  // namespace igpt
