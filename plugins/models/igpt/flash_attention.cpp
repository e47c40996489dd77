#include "flash_attention.hpp"

#include <ATen/Parallel.h>
#include <ATen/native/CPUBlas.h>
#include <c10/util/BFloat16.h>
#include <torch/autograd.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>

#include "vec.hpp"

namespace igpt {

namespace {

namespace cpublas = at::native::cpublas;
using vec::kLanes;
using vec::VecF;

// Query rows and keys per tile. Every product is one cpublas::brgemm call on a tile (64
// x 64 scores, or 64 x dh rows); larger tiles pay the call's fixed cost less often but
// waste more of the diagonal tile under the causal mask.
constexpr int64_t kBlock = 64;
constexpr int64_t kVecs = kBlock / kLanes;  // vectors per tile row
// Keys per product in the forward: up to four tiles side by side. Forward at (4, 8,
// 1024, 32) on the AMX Xeon (`attention_bench --forward-only --rounds 1 --repeats 5`,
// twice each, alternating with a build where this was 64): bfloat16 19.0-19.3 ms
// against 26.4-35.4 with spans of one tile; float32 35.2-38.2 against 36.0-47.7.
constexpr int64_t kSpan = 256;
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

using bf16 = c10::BFloat16;

// The products' operands. brgemm computes C (M x N, float) += A (M x K) . B (K x N): A
// row-major with any row stride; B row-major for float, and for bfloat16 in the VNNI
// layout (pairs of K rows interleaved: B(k, n) at ((k / 2) N + n) 2 + k % 2), which is
// what AMX's tile products read.
IGPT_INLINE int64_t b_index(int64_t kk, int64_t n, int64_t cols, bool vnni) {
  return vnni ? ((kk / 2) * cols + n) * 2 + (kk & 1) : kk * cols + n;
}

// One (batch, head) pair's rows of an (N, H, S, dh) input: row i at p + i * ld.
template <class T>
struct Rows {
  const T* p;
  int64_t ld;
};

// x (s rows of d) into a contiguous (sp x d) copy, zero past row s: the A of products
// over whole tiles of rows, and for float32 their B too.
template <class T>
void pack_rows(Rows<T> x, int64_t s, int64_t d, int64_t sp, T* out) {
  for (int64_t i = 0; i < s; ++i) std::copy(x.p + i * x.ld, x.p + i * x.ld + d, out + i * d);
  std::fill(out + s * d, out + sp * d, T(0));
}

// x (s rows of d) as the (sp x d) B of a product over its rows (P V, dS^T Q): for
// bfloat16 in VNNI pairs of rows, zero past row s.
template <class T>
void pack_rows_as_b(Rows<T> x, int64_t s, int64_t d, int64_t sp, T* out) {
  if constexpr (!std::is_same_v<T, bf16>) {
    pack_rows(x, s, d, sp, out);
  } else {
    for (int64_t i = 0; i < sp; i += 2) {
      const T* r0 = i < s ? x.p + i * x.ld : nullptr;
      const T* r1 = i + 1 < s ? x.p + (i + 1) * x.ld : nullptr;
      T* o = out + i * d;
      for (int64_t c = 0; c < d; ++c) {
        o[2 * c] = r0 ? r0[c] : T(0);
        o[2 * c + 1] = r1 ? r1[c] : T(0);
      }
    }
  }
}

// x (s rows of d) transposed into (d x sp), rows ld apart, column n row n of x, zero
// past row s: the B of products against x^T (VNNI pairs of rows for bfloat16: row pair
// c / 2 at 2 ld (c / 2)), or a plain row-major A (vnni false).
template <class T>
void pack_transposed(Rows<T> x, int64_t s, int64_t d, int64_t sp, int64_t ld, bool vnni, T* out) {
  if (vnni) {
    for (int64_t c = 0; c < d; c += 2) {
      T* o = out + c * ld;
      for (int64_t n = 0; n < s; ++n) {
        o[2 * n] = x.p[n * x.ld + c];
        o[2 * n + 1] = x.p[n * x.ld + c + 1];
      }
      std::fill(o + 2 * s, o + 2 * sp, T(0));
    }
  } else {
    for (int64_t c = 0; c < d; ++c) {
      T* o = out + c * ld;
      for (int64_t n = 0; n < s; ++n) o[n] = x.p[n * x.ld + c];
      std::fill(o + s, o + sp, T(0));
    }
  }
}

// Column j of a pack_transposed B (its VNNI pairs hold two values a column).
template <class T>
const T* column(const T* b, int64_t j, bool vnni) {
  return b + (vnni ? 2 * j : j);
}

// A row of floats into T (bfloat16: rounded to nearest even, by AVX512-BF16's
// instruction where kInsn).
template <bool kInsn>
IGPT_INLINE void store_row(float* dst, VecF v) {
  vec::store(dst, v);
}
template <bool kInsn>
IGPT_INLINE void store_row(bf16* dst, VecF v) {
  vec::store_bf16_maybe_insn<kInsn>(reinterpret_cast<uint16_t*>(dst), v);
}

// e^x of the softmax's x <= 0: where the result is rounded to bfloat16 by instruction
// (kInsn: the AVX-512 build on a CPU with AVX512-BF16) the shorter exp of vec.hpp, made
// for that; elsewhere (float32, AVX2) the full one.
template <bool kInsn>
IGPT_INLINE VecF exp_of(VecF x) {
  if constexpr (kInsn)
    return vec::vexp_nonpositive_avx512(x);
  else
    return vec::vexp(x);
}

// kLanes values of a row of T as floats (bfloat16 widened).
IGPT_INLINE VecF load_row(const float* src) {
  return vec::load(src);
}
IGPT_INLINE VecF load_row(const bf16* src) {
  return vec::load_bf16(reinterpret_cast<const uint16_t*>(src));
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

// One pass over a row's scores in a span of `vecs` vectors: P = exp(S scale - max) into
// the products' dtype, and the row sum returned lane by lane. Past `visible` keys P is
// exactly 0 (exp would give exp(-87), the clamp's floor); a row that sees the whole
// span (kHides false) is compiled without that select.
template <bool kInsn, bool kHides, class T>
IGPT_INLINE VecF probabilities(const float* sr, int64_t vecs, float scale, float max,
                               int64_t visible, T* pr) {
  VecF sum = {};
  for (int64_t c = 0; c < vecs; ++c) {
    VecF ec = exp_of<kInsn>(vec::load(sr + c * kLanes) * scale - max);
    if constexpr (kHides) ec = vec::iota() + float(c * kLanes) < float(visible) ? ec : VecF{};
    store_row<kInsn>(pr + c * kLanes, ec);
    sum += ec;
  }
  return sum;
}

// Scratch of one task, kept by its thread between heads (grown, never shrunk). A pass
// takes each slot once, float and T slots numbered apart (for T = float they are the
// same buffers).
template <class T>
std::vector<T>& scratch(int slot, int64_t n) {
  static thread_local std::vector<T> buffers[12];
  auto& b = buffers[slot];
  if (static_cast<int64_t>(b.size()) < n) b.resize(n);
  return b;
}

// Forward of one head: o (s x d, in T) and the rows' log-sum-exp. Per tile of 64
// queries: scores S = Q K^T against spans of up to kSpan keys that the tile can see
// (whole 64-key tiles: nothing above the causal diagonal's tile), an online softmax
// over each span in float32, and O += P V. A wide span pays the per-row work of the
// online softmax (horizontal max and sum, the rescale of O) once per 256 keys.
template <class T, bool kInsn>
IGPT_INLINE void forward_head_impl(Rows<T> q, Rows<T> k, Rows<T> v, int64_t s, int64_t d,
                                   bool causal, float scale, T* o, float* lse) {
  constexpr bool vnni = std::is_same_v<T, bf16>;
  const int64_t tiles = (s + kBlock - 1) / kBlock, sp = tiles * kBlock;
  // K^T as one (d x sp) B, so that a span of tiles is one product; its rows a few
  // floats longer than sp, or at sp = 1024 each would start 4 KB from the last, all in
  // one first-level cache set.
  const int64_t ldk = sp + kLanes;
  T* kt = scratch<T>(0, d * ldk).data();
  T* vb = scratch<T>(1, sp * d).data();  // V as the (sp x d) B of P V
  pack_transposed(k, s, d, sp, ldk, vnni, kt);
  pack_rows_as_b(v, s, d, sp, vb);
  float* acc = scratch<float>(2, kBlock * d).data();
  float* sc = scratch<float>(3, kBlock * kSpan).data();
  T* p = scratch<T>(4, kBlock * kSpan).data();
  float m[kBlock], l[kBlock];
  for (int64_t i0 = 0; i0 < s; i0 += kBlock) {
    const int64_t rows = std::min(kBlock, s - i0);
    const int64_t last = causal ? i0 + rows : s;  // the tile's queries see keys < last
    std::fill(m, m + rows, kNegInf);
    std::fill(l, l + rows, 0.0f);
    std::fill(acc, acc + rows * d, 0.0f);
    for (int64_t j0 = 0; j0 < last; j0 += kSpan) {
      const int64_t width = std::min(kSpan, (last - j0 + kBlock - 1) / kBlock * kBlock);
      const int64_t vecs = width / kLanes;
      cpublas::brgemm(rows, width, d, q.ld, ldk, kSpan, false, q.p + i0 * q.ld,
                      column(kt, j0, vnni), sc);
      // Only the span with the diagonal tile, or the sequence's last keys, hides keys
      // from some row; the others take no mask at all.
      const bool masked = j0 + width > (causal ? std::min(s, i0 + 1) : s);
      for (int64_t r = 0; r < rows; ++r) {
        float* sr = sc + r * kSpan;
        // Keys this row sees in the span: j0 .. j0 + visible - 1.
        const int64_t visible =
            masked ? std::clamp((causal ? std::min(s, i0 + r + 1) : s) - j0, int64_t(0), width)
                   : width;
        std::fill(sr + visible, sr + width, kNegInf);
        VecF mx = vec::splat(kNegInf);
        for (int64_t c = 0; c < vecs; ++c) {
          const VecF x = vec::load(sr + c * kLanes);
          mx = x > mx ? x : mx;
        }
        const float m_new = std::max(m[r], lanes_max(mx) * scale);
        T* pr = p + r * kSpan;
        if (m_new == kNegInf) {  // no visible key yet
          std::fill(pr, pr + width, T(0));
          continue;
        }
        const float corr = std::exp(m[r] - m_new);
        const VecF sum = visible == width
                             ? probabilities<kInsn, false>(sr, vecs, scale, m_new, visible, pr)
                             : probabilities<kInsn, true>(sr, vecs, scale, m_new, visible, pr);
        l[r] = l[r] * corr + lanes_sum(sum);
        m[r] = m_new;
        if (corr != 1.0f) {  // the running max moved: the sums so far shrink with it
          float* ar = acc + r * d;
          for (int64_t j = 0; j < d; j += kLanes) vec::store(ar + j, vec::load(ar + j) * corr);
        }
      }
      cpublas::brgemm(rows, d, width, kSpan, d, d, true, p, vb + j0 * d, acc);
    }
    for (int64_t r = 0; r < rows; ++r) {
      const float inv = 1.0f / l[r];
      for (int64_t j = 0; j < d; j += kLanes)  // d is a multiple of kLanes
        store_row<kInsn>(o + (i0 + r) * d + j, vec::load(acc + r * d + j) * inv);
      lse[i0 + r] = m[r] + std::log(l[r]);
    }
  }
}

// Backward of one head, FlashAttention-2's order with key tiles outer: a key tile's dK
// and dV stay in float32 accumulators while every query tile that sees it adds to them.
// Scores go tile by tile (64 x 64, in the first-level cache), but dV, dK and dQ take one
// product per span of up to four query tiles: 5 calls of brgemm per tile pair became 2
// per tile and 3 per span, with fewer switches of AMX's tile configuration between
// shapes (`attention_bench --shape 4,8,1024,32`, alternating with the build before,
// 3 rounds: bfloat16 34.6-38.6 ms against 39.0-40.6). Spans for the scores too were
// slower: 64 x 256 floats of them no longer fit that cache.
// Written transposed (scores S^T = K Q^T, one row per key), so that P^T and dS^T are
// row-major A operands of dV += P^T dO and dK += dS^T Q without a transpose; dQ is
// accumulated transposed too (dQ^T += K^T dS^T, float32, the head's whole dh x S) and
// turned around once at the end. P is recomputed from the forward's log-sum-exp, D =
// rowsum(dO * O) once per row.
template <class T, bool kInsn>
IGPT_INLINE void backward_head_impl(Rows<T> q, Rows<T> k, Rows<T> v, Rows<T> dout, const T* o,
                                    const float* lse_in, int64_t s, int64_t d, bool causal,
                                    float scale, T* dq, T* dk, T* dv) {
  constexpr bool vnni = std::is_same_v<T, bf16>;
  const int64_t tiles = (s + kBlock - 1) / kBlock, sp = tiles * kBlock;
  const int64_t tile_size = kBlock * d;
  const int64_t ldt = sp + kLanes;         // the transposes' rows (see forward_head_impl)
  T* qt = scratch<T>(0, d * ldt).data();   // Q^T, B of K Q^T
  T* dot = scratch<T>(1, d * ldt).data();  // dO^T, B of V dO^T
  T* qb = scratch<T>(2, sp * d).data();    // Q, B of dS^T Q
  T* dob = scratch<T>(3, sp * d).data();   // dO, B of P^T dO
  T* ka = scratch<T>(4, sp * d).data();    // K rows, A of K Q^T
  T* va = scratch<T>(5, sp * d).data();    // V rows, A of V dO^T
  T* kta = scratch<T>(6, d * ldt).data();  // K^T, A of K^T dS^T
  pack_transposed(q, s, d, sp, ldt, vnni, qt);
  pack_transposed(dout, s, d, sp, ldt, vnni, dot);
  pack_rows_as_b(q, s, d, sp, qb);
  pack_rows_as_b(dout, s, d, sp, dob);
  pack_rows(k, s, d, sp, ka);
  pack_rows(v, s, d, sp, va);
  pack_transposed(k, s, d, sp, ldt, false, kta);
  float* work = scratch<float>(7, 2 * sp + d * sp + 2 * tile_size).data();
  float *lse = work, *delta = work + sp, *dqt = work + 2 * sp, *dk_acc = dqt + d * sp,
        *dv_acc = dk_acc + tile_size;
  for (int64_t i = 0; i < sp; ++i) {  // d is a multiple of kLanes
    VecF dot_od = {};
    if (i < s)
      for (int64_t c = 0; c < d; c += kLanes)
        dot_od += load_row(dout.p + i * dout.ld + c) * load_row(o + i * d + c);
    delta[i] = lanes_sum(dot_od);
    lse[i] = i < s ? lse_in[i] : 0.0f;
  }
  std::fill(dqt, dqt + d * sp, 0.0f);
  // Scores and their gradients per 64 x 64 tile (they stay in the first-level cache);
  // P^T and dS^T (and dS^T as a VNNI B) for a span of up to kSpan queries, rows kSpan
  // apart, so that dV, dK and dQ take one product a span.
  alignas(64) float st[kBlock * kBlock], dpt[kBlock * kBlock];
  T* pt = scratch<T>(8, kBlock * kSpan).data();
  T* dst = scratch<T>(9, kBlock * kSpan).data();
  T* dsb = scratch<T>(10, kBlock * kSpan).data();
  for (int64_t j0 = 0; j0 < s; j0 += kBlock) {
    std::fill(dk_acc, dk_acc + tile_size, 0.0f);
    std::fill(dv_acc, dv_acc + tile_size, 0.0f);
    for (int64_t i0 = causal ? j0 : 0; i0 < s; i0 += kSpan) {
      const int64_t width = std::min(kSpan, sp - i0);
      for (int64_t t0 = i0; t0 < i0 + width; t0 += kBlock) {
        cpublas::brgemm(kBlock, kBlock, d, d, ldt, kBlock, false, ka + j0 * d, column(qt, t0, vnni),
                        st);
        cpublas::brgemm(kBlock, kBlock, d, d, ldt, kBlock, false, va + j0 * d,
                        column(dot, t0, vnni), dpt);
        // Only tiles on the diagonal or at the end of the sequence hide some pairs.
        const bool masked = (causal && t0 < j0 + kBlock) || t0 + kBlock > s || j0 + kBlock > s;
        // Two keys (rows r, r + 1 of S^T) at a time: they are one VNNI pair of dS^T's B.
        for (int64_t r = 0; r < kBlock; r += 2) {
          VecF ds[2][kVecs];
          vec::VecH ds_bits[2][kVecs];  // kInsn: dS^T rounded once, for both of its stores
          for (int e = 0; e < 2; ++e) {
            const int64_t key = j0 + r + e;
            alignas(64) float pr[kBlock];
            for (int c = 0; c < kVecs; ++c) {
              const VecF x = vec::load(st + (r + e) * kBlock + c * kLanes) * scale -
                             vec::load(lse + t0 + c * kLanes);
              vec::store(pr + c * kLanes, exp_of<kInsn>(x));
            }
            if (masked) {  // the tile's queries that see this key: columns lo .. hi - 1
              const int64_t lo = causal ? std::clamp(key - t0, int64_t(0), kBlock) : 0;
              const int64_t hi = key < s ? std::clamp(s - t0, lo, kBlock) : lo;
              std::fill(pr, pr + lo, 0.0f);
              std::fill(pr + hi, pr + kBlock, 0.0f);
            }
            for (int c = 0; c < kVecs; ++c) {
              const int64_t at = (r + e) * kBlock + c * kLanes;
              const int64_t out = (r + e) * kSpan + (t0 - i0) + c * kLanes;
              const VecF p = vec::load(pr + c * kLanes);
              // dS^T without the softmax's scale: dK and dQ take it once, at the end.
              ds[e][c] = p * (vec::load(dpt + at) - vec::load(delta + t0 + c * kLanes));
              store_row<kInsn>(pt + out, p);
              if constexpr (kInsn) {
                ds_bits[e][c] = vec::bf16_insn(ds[e][c]);
                std::memcpy(dst + out, &ds_bits[e][c], sizeof ds_bits[e][c]);
              } else {
                store_row<kInsn>(dst + out, ds[e][c]);
              }
            }
          }
          if constexpr (vnni)  // dS^T as the VNNI B of K^T dS^T
            for (int c = 0; c < kVecs; ++c) {
              auto* pair = reinterpret_cast<uint16_t*>(
                  dsb + b_index(r, (t0 - i0) + c * kLanes, kSpan, true));
              if constexpr (kInsn)
                vec::store_bf16_pairs(pair, ds_bits[0][c], ds_bits[1][c]);
              else
                vec::store_bf16_pairs(pair, ds[0][c], ds[1][c]);
            }
        }
      }
      cpublas::brgemm(kBlock, d, width, kSpan, d, d, true, pt, dob + i0 * d, dv_acc);
      cpublas::brgemm(kBlock, d, width, kSpan, d, d, true, dst, qb + i0 * d, dk_acc);
      cpublas::brgemm(d, width, kBlock, ldt, kSpan, sp, true, kta + j0, vnni ? dsb : dst, dqt + i0);
    }
    const int64_t rows = std::min(kBlock, s - j0);
    for (int64_t i = 0; i < rows * d; i += kLanes) {  // d is a multiple of kLanes
      store_row<kInsn>(dk + j0 * d + i, vec::load(dk_acc + i) * scale);
      store_row<kInsn>(dv + j0 * d + i, vec::load(dv_acc + i));
    }
  }
  // dQ^T turned around in kLanes x kLanes blocks through a buffer in the first-level
  // cache: walking a column of dQ^T directly reads values sp floats apart, at sp = 1024
  // all in one cache set.
  for (int64_t i0 = 0; i0 < s; i0 += kLanes)
    for (int64_t c0 = 0; c0 < d; c0 += kLanes) {
      alignas(64) float block[kLanes][kLanes], row[kLanes];
      for (int64_t c = 0; c < kLanes; ++c)
        vec::store(block[c], vec::load(dqt + (c0 + c) * sp + i0));
      for (int64_t r = 0; r < std::min(kLanes, s - i0); ++r) {
        for (int64_t c = 0; c < kLanes; ++c) row[c] = block[c][r];
        store_row<kInsn>(dq + (i0 + r) * d + c0, vec::load(row) * scale);
      }
    }
}

// Each entry point is built twice, for AVX-512 (with DQ, BW and VL, as every AVX-512 Xeon
// and Zen 4 has: without DQ a vector comparison's mask cannot become a vector, and GCC
// turns it into sixteen scalar ones) and for AVX2 with FMA (GCC's function
// multiversioning: the loader picks by what the CPU has), and the plain x86-64 version
// only refuses; flash_attention_unsupported() sends a CPU without AVX2 to LibTorch's
// kernel. The AVX-512 build rounds to bfloat16 by AVX512-BF16's instruction where the
// CPU has it (checked once). The products themselves are oneDNN's (cpublas::brgemm),
// which dispatches on the CPU by itself.
using vec::cpu_has_bf16_insn;

#define IGPT_FLASH_VERSIONS(entry, T, params, args)                                 \
  __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl"))) void entry params { \
    if constexpr (std::is_same_v<T, bf16>)                                          \
      if (cpu_has_bf16_insn()) return entry##_impl<T, true> args;                   \
    entry##_impl<T, false> args;                                                    \
  }                                                                                 \
  __attribute__((target("avx2,fma"))) void entry params {                           \
    entry##_impl<T, false> args;                                                    \
  }                                                                                 \
  __attribute__((target("default"))) void entry params {                            \
    throw std::logic_error("flash_attention: no AVX2 on this CPU (checked first)"); \
  }

#define IGPT_FLASH_TYPES(T)                                                                    \
  IGPT_FLASH_VERSIONS(forward_head, T,                                                         \
                      (Rows<T> q, Rows<T> k, Rows<T> v, int64_t s, int64_t d, bool causal,     \
                       float scale, T* o, float* lse),                                         \
                      (q, k, v, s, d, causal, scale, o, lse))                                  \
  IGPT_FLASH_VERSIONS(                                                                         \
      backward_head, T,                                                                        \
      (Rows<T> q, Rows<T> k, Rows<T> v, Rows<T> dout, const T* o, const float* lse, int64_t s, \
       int64_t d, bool causal, float scale, T* dq, T* dk, T* dv),                              \
      (q, k, v, dout, o, lse, s, d, causal, scale, dq, dk, dv))
IGPT_FLASH_TYPES(float)
IGPT_FLASH_TYPES(bf16)

// The dtype the products take for inputs of `t` (flash_attention_bf16_products).
torch::ScalarType compute_type(torch::ScalarType t) {
  return t == torch::kBFloat16 && flash_attention_bf16_products() ? torch::kBFloat16
                                                                  : torch::kFloat;
}

// f(T{}) for the products' dtype t: the one place the two element types part.
template <class F>
void with_type(torch::ScalarType t, F&& f) {
  if (t == torch::kBFloat16)
    f(bf16{});
  else
    f(float{});
}

// x in the compute dtype with unit stride along dh.
torch::Tensor operand(const torch::Tensor& x, torch::ScalarType t) {
  auto y = x.to(t);
  return y.stride(3) == 1 ? y : y.contiguous();
}

template <class T>
Rows<T> rows_of(const torch::Tensor& x, int64_t i) {
  const int64_t heads = x.size(1);
  return {x.data_ptr<T>() + (i / heads) * x.stride(0) + (i % heads) * x.stride(1), x.stride(2)};
}

// Every (batch, head) pair of (N, H, S, dh) tensors, one at a time, in parallel; each
// thread gives back the AMX tile state it took once it is done.
template <class F>
void for_each_head(const torch::Tensor& x, F&& f) {
  const int64_t heads = x.size(0) * x.size(1);
  at::parallel_for(0, heads, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) f(i);
    if (x.scalar_type() == torch::kBFloat16) cpublas::brgemm_release();
  });
}

class FlashAttentionFn : public torch::autograd::Function<FlashAttentionFn> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& q_in,
                               const torch::Tensor& k_in, const torch::Tensor& v_in, bool causal) {
    const auto t = compute_type(q_in.scalar_type());
    const auto q = operand(q_in, t), k = operand(k_in, t), v = operand(v_in, t);
    const int64_t s = q.size(2), d = q.size(3);
    // The output in the products' dtype (written once, from float32 sums); the backward
    // takes D = rowsum(dO * O) from it, as LibTorch's kernel does.
    auto o = torch::empty(q.sizes(), q.options());
    auto lse = torch::empty({q.size(0), q.size(1), s}, q.options().dtype(torch::kFloat));
    const float scale = 1.0f / std::sqrt(float(d));
    with_type(t, [&](auto type) {
      using T = decltype(type);
      for_each_head(q, [&](int64_t i) {
        forward_head(rows_of<T>(q, i), rows_of<T>(k, i), rows_of<T>(v, i), s, d, causal, scale,
                     o.data_ptr<T>() + i * s * d, lse.data_ptr<float>() + i * s);
      });
    });
    ctx->save_for_backward({q, k, v, o, lse});
    ctx->saved_data["causal"] = causal;
    return o.to(q_in.scalar_type());
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto &q = saved[0], &k = saved[1], &v = saved[2], &o = saved[3], &lse = saved[4];
    const bool causal = ctx->saved_data["causal"].toBool();
    const auto dtype = grads[0].scalar_type();
    const auto t = q.scalar_type();
    const auto dout = operand(grads[0], t);
    const int64_t s = q.size(2), d = q.size(3);
    // The gradients in the products' dtype, each written once from its float32 sums.
    auto dq = torch::empty(q.sizes(), q.options()), dk = torch::empty(q.sizes(), q.options()),
         dv = torch::empty(q.sizes(), q.options());
    const float scale = 1.0f / std::sqrt(float(d));
    with_type(t, [&](auto type) {
      using T = decltype(type);
      for_each_head(q, [&](int64_t i) {
        const int64_t at = i * s * d;
        backward_head(rows_of<T>(q, i), rows_of<T>(k, i), rows_of<T>(v, i), rows_of<T>(dout, i),
                      o.data_ptr<T>() + at, lse.data_ptr<float>() + i * s, s, d, causal, scale,
                      dq.data_ptr<T>() + at, dk.data_ptr<T>() + at, dv.data_ptr<T>() + at);
      });
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

// bfloat16 products on AMX (oneDNN's brgemm with VNNI-packed B); elsewhere bfloat16
// inputs are widened and the float32 products run (oneDNN's bfloat16 brgemm without AMX
// was not measured on any machine here).
bool flash_attention_bf16_products() {
  static const bool amx = cpublas::could_pack(at::kBFloat16);
  return amx;
}

bool flash_attention_avx512() {
  static const bool avx512 = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
  }();
  return avx512;
}

std::string flash_attention_products(torch::ScalarType dtype) {
  return compute_type(dtype) == torch::kBFloat16 ? "bfloat16 on AMX tiles" : "float32";
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
