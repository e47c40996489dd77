#include "igpt_module.hpp"

#include <cmath>

#include <torch/nn/init.h>
#include <torch/version.h>

namespace igpt {

RmsNormImpl::RmsNormImpl(int64_t d) {
  g = register_parameter("g", torch::ones({d}));
}

torch::Tensor RmsNormImpl::forward(const torch::Tensor& x) {
  return x * torch::rsqrt(x.pow(2).mean(-1, /*keepdim=*/true) + 1e-5) * g;
}

namespace {
torch::nn::Linear linear(int64_t in, int64_t out, double std) {
  torch::nn::Linear l(torch::nn::LinearOptions(in, out).bias(false));
  torch::nn::init::normal_(l->weight, 0.0, std);
  return l;
}
// x * sigmoid(1.702 x): the released code's GELU approximation.
torch::Tensor quick_gelu(const torch::Tensor& x) {
  return x * torch::sigmoid(1.702 * x);
}
}  // namespace

BlockImpl::BlockImpl(const Dims& d) : heads(d.heads) {
  const double qkv_std = 1.0 / std::sqrt(double(d.width));
  const double proj_std = 1.0 / std::sqrt(double(d.width * d.layers));
  ln_1 = register_module("ln_1", RmsNorm(d.width));
  ln_2 = register_module("ln_2", RmsNorm(d.width));
  q = register_module("q", linear(d.width, d.width, qkv_std));
  k = register_module("k", linear(d.width, d.width, qkv_std));
  v = register_module("v", linear(d.width, d.width, qkv_std));
  proj = register_module("proj", linear(d.width, d.width, proj_std));
  fc = register_module("fc", linear(d.width, 4 * d.width, 0.02));
  fc_out = register_module("fc_out", linear(4 * d.width, d.width, 0.02));
}

torch::Tensor BlockImpl::forward(const torch::Tensor& x, bool causal) {
  const int64_t n = x.size(0), s = x.size(1), d = x.size(2), dh = d / heads;
  auto h = ln_1(x);
  auto split = [&](const torch::Tensor& t) { return t.view({n, s, heads, dh}).transpose(1, 2); };
  auto qh = split(q(h)), kh = split(k(h)), vh = split(v(h));  // (N, H, S, dh)
#if TORCH_VERSION_MAJOR >= 2
  // Fused attention (flash / memory-efficient kernels on CUDA, a fast CPU kernel).
  auto y = at::scaled_dot_product_attention(qh, kh, vh, {}, 0.0, causal);
#else
  auto att = torch::matmul(qh, kh.transpose(-2, -1)) / std::sqrt(double(dh));  // (N, H, S, S)
  if (causal) {
    auto mask = torch::ones({s, s}, torch::dtype(torch::kBool).device(x.device())).triu(1);
    att = att.masked_fill(mask, -std::numeric_limits<float>::infinity());
  }
  auto y = torch::matmul(torch::softmax(att, -1), vh);  // (N, H, S, dh)
#endif
  auto out = x + proj(y.transpose(1, 2).reshape({n, s, d}));
  return out + fc_out(quick_gelu(fc(ln_2(out))));
}

torch::Tensor BlockImpl::forward_step(const torch::Tensor& x, KvCache& cache, int64_t t) {
  const int64_t n = x.size(0), d = x.size(2), dh = d / heads;
  auto h = ln_1(x);
  auto split = [&](const torch::Tensor& u) { return u.view({n, 1, heads, dh}).transpose(1, 2); };
  cache.k.select(2, t).copy_(split(k(h)).squeeze(2));  // (N, H, dh) at position t
  cache.v.select(2, t).copy_(split(v(h)).squeeze(2));
  auto keys = cache.k.slice(2, 0, t + 1), values = cache.v.slice(2, 0, t + 1);  // (N, H, t+1, dh)
  auto att = torch::matmul(split(q(h)), keys.transpose(-2, -1)) / std::sqrt(double(dh));
  auto y = torch::matmul(torch::softmax(att, -1), values);  // (N, H, 1, dh)
  auto out = x + proj(y.transpose(1, 2).reshape({n, 1, d}));
  return out + fc_out(quick_gelu(fc(ln_2(out))));
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
