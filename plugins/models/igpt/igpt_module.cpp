#include "igpt_module.hpp"

#include "flash_attention.hpp"
#include "linear.hpp"
#include "quick_gelu.hpp"
#include "rms_norm.hpp"

#include <cmath>

#include <ATen/Context.h>
#include <ATen/ops/scaled_dot_product_attention.h>
#include <c10/core/InferenceMode.h>
#include <torch/nn/init.h>

namespace igpt {

// Attention::Auto's longest sequence for the own kernel in bfloat16 where it widens
// bfloat16 to float32 (no AMX): the training step measured 1.71x at 196 tokens, 1.02x
// at 784 and 0.93x at 1024 against LibTorch's kernel on an Intel Xeon without AMX.
// With AMX (bfloat16 products) it takes every length: 1.75x, 1.24x and 1.18x
// (bench/attention_in_step.sh, docs/performance.md).
constexpr int64_t kOwnAttentionMaxTokens = 512;

RmsNormImpl::RmsNormImpl(int64_t d) {
  g = register_parameter("g", torch::ones({d}));
}

torch::Tensor RmsNormImpl::forward(const torch::Tensor& x) {
  return add_rms_norm(x, {}, g).second;
}

namespace {
torch::nn::Linear make_linear(int64_t in, int64_t out, double std) {
  torch::nn::Linear l(torch::nn::LinearOptions(in, out).bias(false));
  torch::nn::init::normal_(l->weight, 0.0, std);
  return l;
}
}  // namespace

BlockImpl::BlockImpl(const Dims& d) : heads(d.heads), attention(d.attention) {
  const double qkv_std = 1.0 / std::sqrt(double(d.width));
  const double proj_std = 1.0 / std::sqrt(double(d.width * d.layers));
  ln_1 = register_module("ln_1", RmsNorm(d.width));
  ln_2 = register_module("ln_2", RmsNorm(d.width));
  q = register_module("q", make_linear(d.width, d.width, qkv_std));
  k = register_module("k", make_linear(d.width, d.width, qkv_std));
  v = register_module("v", make_linear(d.width, d.width, qkv_std));
  proj = register_module("proj", make_linear(d.width, d.width, proj_std));
  fc = register_module("fc", make_linear(d.width, 4 * d.width, 0.02));
  fc_out = register_module("fc_out", make_linear(4 * d.width, d.width, 0.02));
}

// q, k and v in one product of (N, S, d) with the stacked (3d x d) weights: one large
// multiplication instead of three small ones. The weights stay three parameters (the
// checkpoint format and the released model's names).
torch::Tensor BlockImpl::qkv(const torch::Tensor& h) {
  return igpt::linear(h, torch::cat({q->weight, k->weight, v->weight}));  // (N, S, 3d)
}

// model.attention: `own` and `libtorch` force a kernel; `auto` takes the own one where
// it measured faster (on the AMX Xeon, `train_bench --attention own` against
// `libtorch`, alternating, 2 rounds; docs/performance.md):
//  - float32 where its elementwise parts run their AVX-512 build (the training step
//    1.03-1.20x at the quickstart's shape, S1 and S2 but for one round of 0.95x; the
//    feature pass 1.05-1.29x). With AVX2 alone it was never measured: LibTorch's.
//  - bfloat16 with AMX (bfloat16 products), training and inference, at any length: the
//    step 2.6x at the quickstart's shape, 1.5x at S1, 1.4x at S2 (its backward is where
//    it wins); the feature pass 1.10-1.44x, 1.03-1.05x and 1.05-1.26x (batch 32, with
//    large blocks cached and AVX512-BF16's rounding).
//  - bfloat16 without AMX (widened to float32): training only, up to
//    kOwnAttentionMaxTokens (measured there on a Xeon without AMX); inference keeps
//    LibTorch's (not measured since our loops run on every core).
// Inference mode, not the grad mode: activation checkpointing runs a training pass's
// forward without gradients and again with them, and both must take one kernel.
bool BlockImpl::takes_own_attention(const torch::Tensor& q, int64_t s) const {
  if (attention != Attention::Auto) return attention == Attention::Own;
  if (q.scalar_type() == torch::kFloat) return flash_attention_avx512();
  if (q.scalar_type() != torch::kBFloat16) return false;
  return flash_attention_bf16_products() ||
         (!c10::InferenceMode::is_enabled() && s <= kOwnAttentionMaxTokens);
}

namespace {
// LibTorch's fused attention on a GPU with cuDNN's kernel asked for first (LibTorch's
// own order puts it last, behind flash): where cuDNN cannot take the inputs LibTorch
// goes on along the rest of the order. The order is process-wide, so it is set for
// this call and put back (Python's torch.nn.attention.sdpa_kernel(set_priority=True)).
torch::Tensor cudnn_first_attention(const torch::Tensor& q, const torch::Tensor& k,
                                    const torch::Tensor& v, bool causal) {
  auto& ctx = at::globalContext();
  std::vector<int64_t> saved;
  for (at::SDPBackend b : ctx.sDPPriorityOrder()) saved.push_back(int64_t(b));
  using B = at::SDPBackend;
  ctx.setSDPPriorityOrder({int64_t(B::cudnn_attention), int64_t(B::flash_attention),
                           int64_t(B::efficient_attention), int64_t(B::math),
                           int64_t(B::overrideable)});
  struct Restore {
    const std::vector<int64_t>& order;
    ~Restore() { at::globalContext().setSDPPriorityOrder(order); }
  } restore{saved};
  return at::scaled_dot_product_attention(q, k, v, {}, 0.0, causal);
}
}  // namespace

torch::Tensor BlockImpl::attend(const torch::Tensor& h, bool causal) {
  const int64_t n = h.size(0), s = h.size(1), d = h.size(2), dh = d / heads;
  auto parts = qkv(h).split(d, -1);  // 3 x (N, S, d), row stride 3d
  auto split = [&](const torch::Tensor& t) { return t.view({n, s, heads, dh}).transpose(1, 2); };
  const auto q_h = split(parts[0]), k_h = split(parts[1]), v_h = split(parts[2]);
  // Either fused kernel never stores the (S x S) scores, and under the causal mask the
  // hidden half is skipped: the own one (flash_attention.cpp) where it takes the inputs
  // and the key asks for it, LibTorch's (flash on the CPU; on a GPU cuDNN's first for
  // `auto`, LibTorch's own order for `libtorch`) otherwise.
  const bool own =
      takes_own_attention(q_h, s) && flash_attention_unsupported(q_h, k_h, v_h).empty();
  torch::Tensor y;  // (N, H, S, dh)
  if (own)
    y = flash_attention(q_h, k_h, v_h, causal);
  else if (q_h.is_cuda() && attention == Attention::Auto)
    y = cudnn_first_attention(q_h, k_h, v_h, causal);
  else
    y = at::scaled_dot_product_attention(q_h, k_h, v_h, {}, 0.0, causal);
  return igpt::linear(y.transpose(1, 2).reshape({n, s, d}), proj->weight);
}

torch::Tensor BlockImpl::feed_forward(const torch::Tensor& h) {
  return igpt::linear(igpt::quick_gelu(igpt::linear(h, fc->weight)), fc_out->weight);
}

torch::Tensor BlockImpl::forward_step(const torch::Tensor& x, KvCache& cache, int64_t t) {
  const int64_t n = x.size(0), d = x.size(2), dh = d / heads;
  auto parts = qkv(ln_1(x)).split(d, -1);  // 3 x (N, 1, d)
  auto split = [&](const torch::Tensor& u) { return u.view({n, 1, heads, dh}).transpose(1, 2); };
  cache.k.select(2, t).copy_(split(parts[1]).squeeze(2));  // (N, H, dh) at position t
  cache.v.select(2, t).copy_(split(parts[2]).squeeze(2));
  auto keys = cache.k.slice(2, 0, t + 1), values = cache.v.slice(2, 0, t + 1);  // (N, H, t+1, dh)
  auto att = torch::matmul(split(parts[0]), keys.transpose(-2, -1)) / std::sqrt(double(dh));
  auto y = torch::matmul(torch::softmax(att, -1), values);  // (N, H, 1, dh)
  auto out = x + igpt::linear(y.transpose(1, 2).reshape({n, 1, d}), proj->weight);
  return out + feed_forward(ln_2(out));
}

TransformerImpl::TransformerImpl(const Dims& d) : dims(d) {
  wte = register_module("wte", torch::nn::Embedding(d.vocab, d.width));
  torch::nn::init::normal_(wte->weight, 0.0, 0.02);
  wpe = register_parameter("wpe", torch::randn({d.context, d.width}) * 0.01);
  sos = register_parameter("sos", torch::randn({d.width}) * 0.02);
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (int64_t l = 0; l < d.layers; ++l) {
    block_list.push_back(Block(d));
    blocks->push_back(block_list.back());
  }
  ln_f = register_module("ln_f", RmsNorm(d.width));
  head = register_module("head",
                         torch::nn::Linear(torch::nn::LinearOptions(d.width, d.vocab).bias(false)));
  torch::nn::init::zeros_(head->weight);
}

}  // namespace igpt
