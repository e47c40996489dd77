#include "flash_attention.hpp"

#include <ATen/Parallel.h>
#include <torch/autograd.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <type_traits>

#include <fmt/format.h>

#include "vec.hpp"

namespace igpt {

namespace {

using vec::kLanes;
using vec::VecF;

constexpr int64_t kTile = 64;            // keys per tile
constexpr int kChunks = kTile / kLanes;  // vectors per tile row
constexpr int kGroup = 4;                // query rows per register block
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// The kernels take a group's rows, a tile's vector count and the head width as template
// arguments, so that each size is its own fully unrolled code; these turn the run-time
// count into one: f(std::integral_constant<int, N>{}). Their lambdas are always inlined
// too, so each is compiled for the instruction set of the entry point that calls it.
#define IGPT_INLINE_LAMBDA __attribute__((always_inline))
template <int N>
using Count = std::integral_constant<int, N>;

// N = n for n in 1..3, 4 for anything larger (a group's rows; a tile's vectors).
template <class F>
IGPT_INLINE void with_1_to_4(int64_t n, F&& f) {
  switch (n) {
    case 1:
      return f(Count<1>{});
    case 2:
      return f(Count<2>{});
    case 3:
      return f(Count<3>{});
    default:
      return f(Count<4>{});
  }
}

// N = the vectors of a head width of 16, 32, 64 or 128 floats (8 for anything else).
template <class F>
IGPT_INLINE void with_head_vectors(int64_t d, F&& f) {
  switch (d / kLanes) {
    case 1:
      return f(Count<1>{});
    case 2:
      return f(Count<2>{});
    case 4:
      return f(Count<4>{});
    default:
      return f(Count<8>{});
  }
}

// One (batch, head) pair's float32 rows. kt and vt are k and v in transposed tiles:
// tile t (keys 64t to 64t + 63) is a (dh x 64) block of its own, zero past key s, so a
// row of scores is a sum of vectors over dh and a tile is one contiguous 64 dh floats.
// (One (dh x s) transpose would put a tile's rows s floats apart; at s = 1024 that is
// 4 KB, and every row falls in the same first-level cache set.)
struct Head {
  const float *q, *k, *v, *kt, *vt;
  int64_t s, sp;
};

IGPT_INLINE VecF lane_index() {
  VecF v;
  for (int i = 0; i < kLanes; ++i) v[i] = float(i);
  return v;
}

// out[r][0 : 16 NCH] = a[r] . bt[:, 0 : 16 NCH] for R rows of a (stride lda) against
// columns of bt (D x ld): the scores of R queries against NCH x 16 keys.
template <int R, int NCH, int DV>
IGPT_INLINE void dot_rows(const float* a, int64_t lda, const float* bt, int64_t ld, float scale,
                          float* out) {
  VecF acc[R][NCH] = {};
  for (int64_t i = 0; i < DV * kLanes; ++i) {
    VecF b[NCH];
    for (int c = 0; c < NCH; ++c) b[c] = vec::load(bt + i * ld + c * kLanes);
    for (int r = 0; r < R; ++r) {
      const VecF x = vec::splat(a[r * lda + i]);
      for (int c = 0; c < NCH; ++c) acc[r][c] += x * b[c];
    }
  }
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < NCH; ++c) vec::store(out + r * kTile + c * kLanes, acc[r][c] * scale);
}

// dot_rows for a group of `rows` (1 to kGroup) rows of a (stride dh) and `nch` vectors
// of keys.
template <int DV>
IGPT_INLINE void dot_group(int rows, int nch, const float* a, const float* bt, int64_t ld,
                           float scale, float* out) {
  with_1_to_4(rows, [&](auto r) IGPT_INLINE_LAMBDA {
    with_1_to_4(nch, [&](auto c) IGPT_INLINE_LAMBDA {
      dot_rows<decltype(r)::value, decltype(c)::value, DV>(a, DV * kLanes, bt, ld, scale, out);
    });
  });
}

// out[r] += sum over c < n of w[r][c] * b[c] for the R rows of a group (stride dh; w
// stride kTile): (W . B), each row of b loaded once for all R rows.
template <int R, int DV>
IGPT_INLINE void add_weighted(float* out, const float* w, int64_t n, const float* b) {
  constexpr int64_t d = DV * kLanes;
  VecF acc[R][DV];
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < DV; ++j) acc[r][j] = vec::load(out + r * d + j * kLanes);
  for (int64_t c = 0; c < n; ++c) {
    VecF bc[DV];
    for (int j = 0; j < DV; ++j) bc[j] = vec::load(b + c * d + j * kLanes);
    for (int r = 0; r < R; ++r) {
      const VecF x = vec::splat(w[r * kTile + c]);
      for (int j = 0; j < DV; ++j) acc[r][j] += x * bc[j];
    }
  }
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < DV; ++j) vec::store(out + r * d + j * kLanes, acc[r][j]);
}

// out[c] += sum over r < R of w[r][c] * a[r] for c < n: (W^T . A), the group's R rows
// of a held in registers while each output row is read and written once.
template <int R, int DV>
IGPT_INLINE void add_transposed(float* out, const float* w, int64_t n, const float* a) {
  constexpr int64_t d = DV * kLanes;
  VecF ar[R][DV];
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < DV; ++j) ar[r][j] = vec::load(a + r * d + j * kLanes);
  for (int64_t c = 0; c < n; ++c) {
    VecF acc[DV];
    for (int j = 0; j < DV; ++j) acc[j] = vec::load(out + c * d + j * kLanes);
    for (int r = 0; r < R; ++r) {
      const VecF x = vec::splat(w[r * kTile + c]);
      for (int j = 0; j < DV; ++j) acc[j] += x * ar[r][j];
    }
    for (int j = 0; j < DV; ++j) vec::store(out + c * d + j * kLanes, acc[j]);
  }
}

// The two above for a group of `rows` (1 to kGroup) rows.
template <int DV>
IGPT_INLINE void add_weighted_n(int rows, float* out, const float* w, int64_t n, const float* b) {
  with_1_to_4(
      rows, [&](auto r) IGPT_INLINE_LAMBDA { add_weighted<decltype(r)::value, DV>(out, w, n, b); });
}
template <int DV>
IGPT_INLINE void add_transposed_n(int rows, float* out, const float* w, int64_t n, const float* a) {
  with_1_to_4(rows, [&](auto r) IGPT_INLINE_LAMBDA {
    add_transposed<decltype(r)::value, DV>(out, w, n, a);
  });
}

// Scores of the group's rows against one key tile, scaled, masked (-inf) at keys the
// row may not see (beyond `limit(r)`), left in s (rows x kTile).
template <int DV>
IGPT_INLINE void masked_scores(const Head& h, const float* a, int rows, int64_t row0, int64_t kb,
                               int nch, bool causal, float scale, float* s) {
  dot_group<DV>(rows, nch, a, h.kt + kb * DV * kLanes, kTile, scale, s);
  // Only a tile that reaches past the first row's last visible key needs the mask (the
  // diagonal tile, or the last one of a sequence that does not fill it).
  const int64_t end = kb + nch * kLanes;
  if (end <= (causal ? std::min(h.s, row0 + 1) : h.s)) return;
  const VecF lanes = lane_index();
  for (int r = 0; r < rows; ++r) {
    const int64_t limit = causal ? std::min(h.s, row0 + r + 1) : h.s;  // keys < limit
    for (int c = 0; c < nch; ++c) {
      const VecF x = vec::load(s + r * kTile + c * kLanes);
      vec::store(s + r * kTile + c * kLanes,
                 lanes < vec::splat(float(limit - kb - c * kLanes)) ? x : vec::splat(kNegInf));
    }
  }
}

// The largest and the sum of a vector's lanes, by halving (four shuffles, not fifteen
// scalar steps): once per row and tile, so it counts.
IGPT_INLINE float lanes_max(VecF v) {
  v = v > __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7)
          ? v
          : __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7);
  VecF t = __builtin_shufflevector(v, v, 4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11);
  v = v > t ? v : t;
  t = __builtin_shufflevector(v, v, 2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13);
  v = v > t ? v : t;
  t = __builtin_shufflevector(v, v, 1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14);
  v = v > t ? v : t;
  return v[0];
}
IGPT_INLINE float lanes_sum(VecF v) {
  v += __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7);
  v += __builtin_shufflevector(v, v, 4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11);
  v += __builtin_shufflevector(v, v, 2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13);
  v += __builtin_shufflevector(v, v, 1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14);
  return v[0];
}

// Forward of one head: o (s x dh) and the rows' log-sum-exp.
template <int DV>
IGPT_INLINE void forward_head_impl(const Head& h, bool causal, float scale, float* o, float* lse) {
  constexpr int64_t d = DV * kLanes;
  alignas(64) float s[kGroup * kTile];
  for (int64_t row0 = 0; row0 < h.s; row0 += kGroup) {
    const int rows = static_cast<int>(std::min<int64_t>(kGroup, h.s - row0));
    const int64_t last = causal ? row0 + rows : h.s;  // the group sees keys < last
    float m[kGroup], l[kGroup];
    for (int r = 0; r < rows; ++r) {
      m[r] = kNegInf;
      l[r] = 0;
      std::fill(o + (row0 + r) * d, o + (row0 + r + 1) * d, 0.0f);
    }
    for (int64_t kb = 0; kb < last; kb += kTile) {
      const int64_t cols = std::min(kTile, last - kb);
      const int nch = static_cast<int>((cols + kLanes - 1) / kLanes);
      masked_scores<DV>(h, h.q + row0 * d, rows, row0, kb, nch, causal, scale, s);
      for (int r = 0; r < rows; ++r) {
        float* sr = s + r * kTile;
        VecF mx = vec::splat(kNegInf);
        for (int c = 0; c < nch; ++c) {
          const VecF x = vec::load(sr + c * kLanes);
          mx = x > mx ? x : mx;
        }
        const float m_new = std::max(m[r], lanes_max(mx));
        if (m_new == kNegInf) continue;  // no visible key in this tile
        const float corr = std::exp(m[r] - m_new);
        VecF sum = {};
        for (int c = 0; c < nch; ++c) {
          const VecF x = vec::load(sr + c * kLanes);
          const VecF p = x == vec::splat(kNegInf) ? VecF{} : vec::vexp(x - m_new);
          vec::store(sr + c * kLanes, p);
          sum += p;
        }
        l[r] = l[r] * corr + lanes_sum(sum);
        m[r] = m_new;
        if (corr != 1.0f) {  // the running max moved: the sums so far shrink with it
          float* orow = o + (row0 + r) * d;
          for (int j = 0; j < DV; ++j)
            vec::store(orow + j * kLanes, vec::load(orow + j * kLanes) * corr);
        }
      }
      add_weighted_n<DV>(rows, o + row0 * d, s, cols, h.v + kb * d);
    }
    for (int r = 0; r < rows; ++r) {
      float* orow = o + (row0 + r) * d;
      const float inv = 1.0f / l[r];
      for (int64_t j = 0; j < d; ++j) orow[j] *= inv;
      lse[row0 + r] = m[r] + std::log(l[r]);
    }
  }
}

// Backward of one head: dq, dk, dv (s x dh, zeroed by the caller) from dout and the
// forward's o and lse, FlashAttention-2's order: key tiles outer, so a tile's dK and dV
// rows stay in the first-level cache while every query group that sees the tile adds
// to them; each tile's probabilities are recomputed from lse. delta (s floats) is
// scratch for D = rowsum(dO * O).
template <int DV>
IGPT_INLINE void backward_head_impl(const Head& h, const float* o, const float* lse,
                                    const float* dout, bool causal, float scale, float* delta,
                                    float* dq, float* dk, float* dv) {
  constexpr int64_t d = DV * kLanes;
  alignas(64) float p[kGroup * kTile], ds[kGroup * kTile], pt[kTile * kGroup], dst[kTile * kGroup];
  for (int64_t row = 0; row < h.s; ++row) {
    VecF acc = {};
    for (int j = 0; j < DV; ++j)
      acc += vec::load(dout + row * d + j * kLanes) * vec::load(o + row * d + j * kLanes);
    delta[row] = lanes_sum(acc);
  }
  for (int64_t kb = 0; kb < h.s; kb += kTile) {
    const int64_t tile = std::min(kTile, h.s - kb);
    // Causal: only rows at or after the tile's first key see it (kb is a multiple of
    // the group size, so groups start there).
    for (int64_t row0 = causal ? kb : 0; row0 < h.s; row0 += kGroup) {
      const int rows = static_cast<int>(std::min<int64_t>(kGroup, h.s - row0));
      const int64_t cols = causal ? std::min(tile, row0 + rows - kb) : tile;
      const int nch = static_cast<int>((cols + kLanes - 1) / kLanes);
      masked_scores<DV>(h, h.q + row0 * d, rows, row0, kb, nch, causal, scale, p);
      // dP = dO . V^T over the same tile.
      dot_group<DV>(rows, nch, dout + row0 * d, h.vt + kb * d, kTile, 1.0f, ds);
      for (int r = 0; r < rows; ++r) {
        const VecF m = vec::splat(lse[row0 + r]);
        const VecF dr = vec::splat(delta[row0 + r]);
        for (int c = 0; c < nch; ++c) {
          const VecF x = vec::load(p + r * kTile + c * kLanes);
          const VecF pr = x == vec::splat(kNegInf) ? VecF{} : vec::vexp(x - m);
          const VecF g = vec::load(ds + r * kTile + c * kLanes);
          vec::store(p + r * kTile + c * kLanes, pr);
          vec::store(ds + r * kTile + c * kLanes, pr * (g - dr) * scale);
        }
      }
      add_weighted_n<DV>(rows, dq + row0 * d, ds, cols, h.k + kb * d);    // dQ += dS . K
      add_transposed_n<DV>(rows, dv + kb * d, p, cols, dout + row0 * d);  // dV += P^T . dO
      add_transposed_n<DV>(rows, dk + kb * d, ds, cols, h.q + row0 * d);  // dK += dS^T . Q
    }
  }
}

// Each entry point is built twice, for AVX-512 and for AVX2 with FMA (GCC's function
// multiversioning: the loader picks by what the CPU has), and the plain x86-64 version
// only refuses: the 16-lane vectors lowered to SSE took longer to compile than the two
// others together (about 105 s of the file's 180 on 2 cores) for CPUs where the kernel
// would be slow anyway. flash_attention_unsupported() sends those to LibTorch's kernel.
#define IGPT_FLASH_VERSIONS(entry, params, args)                                    \
  __attribute__((target("avx512f"))) void entry params {                            \
    entry##_any args;                                                               \
  }                                                                                 \
  __attribute__((target("avx2,fma"))) void entry params {                           \
    entry##_any args;                                                               \
  }                                                                                 \
  __attribute__((target("default"))) void entry params {                            \
    throw std::logic_error("flash_attention: no AVX2 on this CPU (checked first)"); \
  }

IGPT_INLINE void forward_head_any(const Head& h, int64_t d, bool causal, float scale, float* o,
                                  float* lse) {
  with_head_vectors(d, [&](auto dv) IGPT_INLINE_LAMBDA {
    forward_head_impl<decltype(dv)::value>(h, causal, scale, o, lse);
  });
}

IGPT_INLINE void backward_head_any(const Head& h, int64_t d, const float* o, const float* lse,
                                   const float* dout, bool causal, float scale, float* delta,
                                   float* dq, float* dk, float* dv) {
  with_head_vectors(d, [&](auto v) IGPT_INLINE_LAMBDA {
    backward_head_impl<decltype(v)::value>(h, o, lse, dout, causal, scale, delta, dq, dk, dv);
  });
}

IGPT_FLASH_VERSIONS(forward_head,
                    (const Head& h, int64_t d, bool causal, float scale, float* o, float* lse),
                    (h, d, causal, scale, o, lse))
IGPT_FLASH_VERSIONS(backward_head,
                    (const Head& h, int64_t d, const float* o, const float* lse, const float* dout,
                     bool causal, float scale, float* delta, float* dq, float* dk, float* dv),
                    (h, d, o, lse, dout, causal, scale, delta, dq, dk, dv))

// (N, H, S, dh) -> (N, H, sp / 64, dh, 64): the transposed tiles of Head::kt.
torch::Tensor transposed_padded(const torch::Tensor& x, int64_t sp) {
  const int64_t n = x.size(0), heads = x.size(1), d = x.size(3);
  auto t = torch::zeros({n, heads, sp, d}, x.options());
  t.narrow(2, 0, x.size(2)).copy_(x);
  return t.view({n, heads, sp / kTile, kTile, d}).transpose(3, 4).contiguous();
}

int64_t padded(int64_t s) {
  return (s + kTile - 1) / kTile * kTile;
}

// Every (batch, head) pair of (N, H, S, dh) tensors, one at a time, in parallel.
template <class F>
void for_each_head(const torch::Tensor& x, F&& f) {
  const int64_t heads = x.size(0) * x.size(1);
  at::parallel_for(0, heads, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) f(i);
  });
}

class FlashAttentionFn : public torch::autograd::Function<FlashAttentionFn> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& q_in,
                               const torch::Tensor& k_in, const torch::Tensor& v_in, bool causal) {
    const auto q = q_in.to(torch::kFloat).contiguous(), k = k_in.to(torch::kFloat).contiguous(),
               v = v_in.to(torch::kFloat).contiguous();
    const int64_t s = q.size(2), d = q.size(3), sp = padded(s);
    const auto kt = transposed_padded(k, sp), vt = transposed_padded(v, sp);
    auto o = torch::empty_like(q);
    auto lse = torch::empty({q.size(0), q.size(1), s}, q.options());
    const float scale = 1.0f / std::sqrt(float(d));
    for_each_head(q, [&](int64_t i) {
      const Head h{q.data_ptr<float>() + i * s * d,
                   k.data_ptr<float>() + i * s * d,
                   v.data_ptr<float>() + i * s * d,
                   kt.data_ptr<float>() + i * d * sp,
                   vt.data_ptr<float>() + i * d * sp,
                   s,
                   sp};
      forward_head(h, d, causal, scale, o.data_ptr<float>() + i * s * d,
                   lse.data_ptr<float>() + i * s);
    });
    ctx->save_for_backward({q, k, v, kt, vt, o, lse});
    ctx->saved_data["causal"] = causal;
    return o.to(q_in.scalar_type());
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto &q = saved[0], &k = saved[1], &v = saved[2], &kt = saved[3], &vt = saved[4],
               &o = saved[5], &lse = saved[6];
    const bool causal = ctx->saved_data["causal"].toBool();
    const auto dtype = grads[0].scalar_type();
    const auto dout = grads[0].to(torch::kFloat).contiguous();
    const int64_t s = q.size(2), d = q.size(3), sp = kt.size(2) * kTile;
    auto dq = torch::zeros_like(q), dk = torch::zeros_like(k), dv = torch::zeros_like(v);
    auto delta = torch::empty({q.size(0), q.size(1), s}, q.options());
    const float scale = 1.0f / std::sqrt(float(d));
    for_each_head(q, [&](int64_t i) {
      const Head h{q.data_ptr<float>() + i * s * d,
                   k.data_ptr<float>() + i * s * d,
                   v.data_ptr<float>() + i * s * d,
                   kt.data_ptr<float>() + i * d * sp,
                   vt.data_ptr<float>() + i * d * sp,
                   s,
                   sp};
      backward_head(h, d, o.data_ptr<float>() + i * s * d, lse.data_ptr<float>() + i * s,
                    dout.data_ptr<float>() + i * s * d, causal, scale,
                    delta.data_ptr<float>() + i * s, dq.data_ptr<float>() + i * s * d,
                    dk.data_ptr<float>() + i * s * d, dv.data_ptr<float>() + i * s * d);
    });
    return {dq.to(dtype), dk.to(dtype), dv.to(dtype), torch::Tensor()};
  }
};

}  // namespace

const std::string& flash_attention_cpu_problem() {
  static const std::string problem = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")
               ? ""
               : "the CPU has no AVX2 with FMA (the kernel is built for AVX-512 and AVX2 only)";
  }();
  return problem;
}

std::string flash_attention_unsupported(const torch::Tensor& q, const torch::Tensor& k,
                                        const torch::Tensor& v) {
  if (!q.device().is_cpu()) return "not on the CPU";
  if (!flash_attention_cpu_problem().empty()) return flash_attention_cpu_problem();
  if (q.dim() != 4 || k.sizes() != q.sizes() || v.sizes() != q.sizes())
    return "q, k and v are not all (N, H, S, dh) of one shape";
  const auto t = q.scalar_type();
  if ((t != torch::kFloat && t != torch::kBFloat16) || k.scalar_type() != t || v.scalar_type() != t)
    return "not float32 or bfloat16";
  const int64_t d = q.size(3);
  if (d != 16 && d != 32 && d != 64 && d != 128)
    return fmt::format("head width {} is not 16, 32, 64 or 128", d);
  return "";
}

torch::Tensor flash_attention(const torch::Tensor& q, const torch::Tensor& k,
                              const torch::Tensor& v, bool causal) {
  return FlashAttentionFn::apply(q, k, v, causal);
}

}  // namespace igpt
