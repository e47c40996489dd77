#include "attention.hpp"

#include "softmax_rows.hpp"

#include <cmath>
#include <limits>

#include <ATen/Parallel.h>
#include <torch/autograd.h>
#include <torch/version.h>

namespace igpt {

namespace {

// Rows of queries handled together: a (kBlock x S) strip of scores stays in a core's
// L2 cache (256 x 1024 floats = 1 MiB; 2 MiB per core here) between the products that
// make and use it. 128 measured the same within this machine's noise.
constexpr int64_t kBlock = 256;

// Attention on the CPU computed one head at a time, one strip of kBlock query rows at
// a time, heads spread over LibTorch's threads (each product is then a single-threaded
// BLAS call on cached data). The (S x S) score matrix is never materialised: forward
// keeps only the output and each row's log-sum-exp; backward recomputes a strip's
// probabilities from them (as FlashAttention does). Under the causal mask a strip's
// keys stop at its last row, so the masked half of the products is never computed.
// Inputs are the block's (N, H, S, dh) views of (N, S, H, dh) projections, read in
// place (BLAS takes their row stride); outputs and gradients are written in the same
// layout, so the block's transpose back to (N, S, d) is free.
//
// Per head, for a strip of rows i (Q_i: (b x dh)), the keys it sees K, V: (c x dh) and
// a = 1 / sqrt(dh):
//   forward:  S = Q_i K^T, P = softmax(a S), O_i = P V, lse_i = logsumexp(a S)
//   backward: P = exp(a S - lse_i), dV += P^T dO_i, dP = dO_i V^T,
//             dS = a P * (dP - rowsum(dO_i * O_i)), dQ_i = dS K, dK += dS^T Q_i
struct StripAttention : torch::autograd::Function<StripAttention> {
  // (N, H, S, dh) in the block's layout: a transposed view of (N, S, H, dh).
  static torch::Tensor empty_heads(const torch::Tensor& like, bool zero) {
    auto t = zero ? torch::zeros({like.size(0), like.size(2), like.size(1), like.size(3)},
                                 like.options())
                  : torch::empty({like.size(0), like.size(2), like.size(1), like.size(3)},
                                 like.options());
    return t.transpose(1, 2);
  }
  // Head h of n * H heads as an (S x dh) matrix.
  static torch::Tensor head(const torch::Tensor& t, int64_t h) {
    return t.select(0, h / t.size(1)).select(0, h % t.size(1));
  }
  static int64_t visible(bool causal, int64_t c, int64_t b, int64_t r) {
    return causal ? c - b + r + 1 : c;  // row r of a strip of b rows ending at key c
  }

  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& q,
                               const torch::Tensor& k, const torch::Tensor& v, bool causal) {
    const int64_t heads = q.size(0) * q.size(1), s_len = q.size(2), dh = q.size(3);
    const float scale = 1.0f / std::sqrt(float(dh));
    auto out = empty_heads(q, false);                                     // (N, H, S, dh)
    auto lse = torch::empty({q.size(0), q.size(1), s_len}, q.options());  // (N, H, S)
    at::parallel_for(0, heads, 1, [&](int64_t h0, int64_t h1) {
      auto strip = torch::empty({kBlock, s_len}, q.options());
      for (int64_t h = h0; h < h1; ++h) {
        auto qh = head(q, h), kh = head(k, h), vh = head(v, h), oh = head(out, h);
        float* lse_h = head(lse, h).data_ptr<float>();
        for (int64_t r0 = 0; r0 < s_len; r0 += kBlock) {
          const int64_t b = std::min(kBlock, s_len - r0), c = causal ? r0 + b : s_len;
          auto s = strip.narrow(0, 0, b).narrow(1, 0, c);  // rows keep stride S
          at::mm_out(s, qh.narrow(0, r0, b), kh.narrow(0, 0, c).t());
          for (int64_t r = 0; r < b; ++r)
            lse_h[r0 + r] = softmax_row(strip.data_ptr<float>() + r * s_len,
                                        visible(causal, c, b, r), c, scale);
          auto o = oh.narrow(0, r0, b);
          at::mm_out(o, s, vh.narrow(0, 0, c));
        }
      }
    });
    ctx->save_for_backward({q, k, v, out, lse});
    ctx->saved_data["causal"] = causal;
    return out;
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto &q = saved[0], &k = saved[1], &v = saved[2], &out = saved[3], &lse = saved[4];
    const bool causal = ctx->saved_data["causal"].toBool();
    const int64_t heads = q.size(0) * q.size(1), s_len = q.size(2), dh = q.size(3);
    const float scale = 1.0f / std::sqrt(float(dh));
    // (N, H, S, dh); BLAS needs unit stride along dh.
    auto d_out = grads[0].stride(-1) == 1 ? grads[0] : grads[0].contiguous();
    auto delta = (d_out * out).sum(-1).contiguous();  // (N, H, S), read by raw pointer
    auto dq = empty_heads(q, false), dk = empty_heads(k, true), dv = empty_heads(v, true);
    at::parallel_for(0, heads, 1, [&](int64_t h0, int64_t h1) {
      auto strip = torch::empty({kBlock, s_len}, q.options());
      auto dstrip = torch::empty({kBlock, s_len}, q.options());
      for (int64_t h = h0; h < h1; ++h) {
        auto qh = head(q, h), kh = head(k, h), vh = head(v, h), doh = head(d_out, h);
        auto dqh = head(dq, h), dkh = head(dk, h), dvh = head(dv, h);
        const float* lse_h = head(lse, h).data_ptr<float>();
        const float* delta_h = head(delta, h).data_ptr<float>();
        for (int64_t r0 = 0; r0 < s_len; r0 += kBlock) {
          const int64_t b = std::min(kBlock, s_len - r0), c = causal ? r0 + b : s_len;
          auto qi = qh.narrow(0, r0, b), doi = doh.narrow(0, r0, b);
          auto keys = kh.narrow(0, 0, c), values = vh.narrow(0, 0, c);
          auto p = strip.narrow(0, 0, b).narrow(1, 0, c);
          at::mm_out(p, qi, keys.t());
          for (int64_t r = 0; r < b; ++r)
            probabilities_row(strip.data_ptr<float>() + r * s_len, visible(causal, c, b, r), c,
                              scale, lse_h[r0 + r]);
          auto dvc = dvh.narrow(0, 0, c);
          dvc.addmm_(p.t(), doi);  // dV += P^T dO_i
          auto ds = dstrip.narrow(0, 0, b).narrow(1, 0, c);
          at::mm_out(ds, doi, values.t());  // dP
          for (int64_t r = 0; r < b; ++r)
            softmax_grad_row(dstrip.data_ptr<float>() + r * s_len,
                             strip.data_ptr<float>() + r * s_len, c, scale, delta_h[r0 + r]);
          auto dqi = dqh.narrow(0, r0, b);
          at::mm_out(dqi, ds, keys);  // dQ_i = dS K
          auto dkc = dkh.narrow(0, 0, c);
          dkc.addmm_(ds.t(), qi);  // dK += dS^T Q_i
        }
      }
    });
    return {dq, dk, dv, torch::Tensor()};
  }
};

// The textbook computation, materialising (N, H, S, S): the reference the strip kernel
// is tested against, and the path on devices other than the CPU with LibTorch 1.x.
torch::Tensor reference_attention(const torch::Tensor& q, const torch::Tensor& k,
                                  const torch::Tensor& v, bool causal) {
  const int64_t s = q.size(2), dh = q.size(3);
  auto att = torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(double(dh));  // (N, H, S, S)
  if (causal) {
    auto mask = torch::ones({s, s}, torch::dtype(torch::kBool).device(q.device())).triu(1);
    att = att.masked_fill(mask, -std::numeric_limits<float>::infinity());
  }
  return torch::matmul(torch::softmax(att, -1), v);  // (N, H, S, dh)
}

}  // namespace

torch::Tensor strip_attention(const torch::Tensor& q, const torch::Tensor& k,
                              const torch::Tensor& v, bool causal) {
  return StripAttention::apply(q, k, v, causal);
}

torch::Tensor attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        bool causal) {
#if TORCH_VERSION_MAJOR >= 2
  // LibTorch's fused kernels: flash / memory-efficient on CUDA, and on the CPU a flash
  // kernel that measured faster than the strip kernel (train_bench, second size: 706 vs
  // 897 ms of attention per step with LibTorch 2.15).
  return at::scaled_dot_product_attention(q, k, v, {}, 0.0, causal);
#else
  if (q.device().is_cpu() && q.scalar_type() == torch::kFloat32)
    return strip_attention(q, k, v, causal);
  return reference_attention(q, k, v, causal);
#endif
}

torch::Tensor attention_reference(const torch::Tensor& q, const torch::Tensor& k,
                                  const torch::Tensor& v, bool causal) {
  return reference_attention(q, k, v, causal);
}

}  // namespace igpt
