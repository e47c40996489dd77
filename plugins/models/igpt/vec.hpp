#pragma once
// Fixed-width float vectors for the model's elementwise kernels (quick_gelu.cpp,
// rms_norm.cpp, flash_attention.cpp), through GCC's vector extensions.
#include <cmath>
#include <cstdint>
#include <cstring>

namespace igpt::vec {

// 16 floats per value whatever the machine; the compiler lowers each operation to the
// widest registers of the clone it compiles (AVX-512, AVX2 or SSE).
constexpr int64_t kLanes = 16;
typedef float VecF __attribute__((vector_size(kLanes * sizeof(float))));
typedef int32_t VecI __attribute__((vector_size(kLanes * sizeof(int32_t))));

#define IGPT_KERNEL __attribute__((target_clones("avx512f", "avx2", "default")))
// Helpers are inlined into each clone, so they too run on its registers.
#define IGPT_INLINE inline __attribute__((always_inline))

IGPT_INLINE VecF load(const float* p) {
  VecF v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
IGPT_INLINE void store(float* p, VecF v) {
  std::memcpy(p, &v, sizeof v);
}
IGPT_INLINE VecF splat(float x) {
  return VecF{} + x;
}
// 0, 1, ..., kLanes - 1: lane numbers, to mask a row's tail by comparison.
IGPT_INLINE VecF iota() {
  return VecF{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
}
// The last n < kLanes floats of a row, padded with `fill`.
IGPT_INLINE VecF load_tail(const float* p, int64_t n, float fill) {
  float buf[kLanes];
  for (int64_t i = 0; i < kLanes; ++i) buf[i] = i < n ? p[i] : fill;
  return load(buf);
}
IGPT_INLINE void store_tail(float* p, int64_t n, VecF v) {
  float buf[kLanes];
  store(buf, v);
  std::memcpy(p, buf, n * sizeof(float));
}

// exp(x) = 2^n e^r with n = round(x / ln 2), |r| <= ln(2) / 2, e^r by its Taylor
// polynomial to r^6 (relative error < 2e-7 there). x is clamped to [-87, 88] so that
// 2^n stays a normal float; exp(-87) = 1.6e-38 stands for anything smaller.
IGPT_INLINE VecF vexp(VecF x) {
  x = x < splat(-87.0f) ? splat(-87.0f) : x;
  x = x > splat(88.0f) ? splat(88.0f) : x;
  const VecF magic = splat(12582912.0f);  // 1.5 * 2^23: adding it rounds to an integer
  VecF n = (x * 1.44269504088896341f + magic) - magic;
  VecF r = x - n * 0.693359375f;  // ln 2 in two parts, so r is exact
  r = r - n * -2.12194440e-4f;
  VecF p = splat(1.0f / 720.0f);
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  VecI bits = (__builtin_convertvector(n, VecI) + 127) << 23;
  return p * reinterpret_cast<VecF&>(bits);
}

// exp(x) for x <= 0 whose result is rounded to bfloat16 (attention's probabilities on
// a CPU with AVX512-BF16): the Taylor polynomial to r^5 (relative error < 3e-6, a
// thousandth of bfloat16's rounding), and 2^n applied by AVX-512's vscalefps (one
// instruction for four). x is floored at -87 as in vexp, so the result stays a normal
// float: with a floor of -104 the 196-token attention ran 1.3x slower, presumably the
// masked keys' -inf becoming denormals (a slow assist each). For the AVX-512 builds
// only, as reciprocal_avx512.
IGPT_INLINE VecF vexp_nonpositive_avx512(VecF x) {
  x = x < splat(-87.0f) ? splat(-87.0f) : x;
  const VecF magic = splat(12582912.0f);
  VecF n = (x * 1.44269504088896341f + magic) - magic;
  VecF r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  VecF p = splat(1.0f / 120.0f);
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  VecF out;
  asm("vscalefps %2, %1, %0" : "=v"(out) : "v"(p), "v"(n));
  return out;
}

// bfloat16 is the upper half of a float32: widening is a shift; narrowing rounds to
// nearest even (as LibTorch does), NaN kept a quiet NaN.
typedef uint16_t VecH __attribute__((vector_size(kLanes * sizeof(uint16_t))));
typedef uint32_t VecU __attribute__((vector_size(kLanes * sizeof(uint32_t))));
IGPT_INLINE VecF load_bf16(const uint16_t* p) {
  VecH h;
  std::memcpy(&h, p, sizeof h);
  VecU u = __builtin_convertvector(h, VecU) << 16;
  return reinterpret_cast<VecF&>(u);
}
// v rounded to bfloat16, each in the low half of its lane.
IGPT_INLINE VecU bf16_bits(VecF v) {
  VecU u = reinterpret_cast<VecU&>(v);
  VecU rounded = (u + 0x7FFFu + ((u >> 16) & 1u)) >> 16;
  return v != v ? VecU{} + 0x7FC0u : rounded;
}
IGPT_INLINE void store_bf16(uint16_t* p, VecF v) {
  VecH h = __builtin_convertvector(bf16_bits(v), VecH);
  std::memcpy(p, &h, sizeof h);
}
// a and b rounded to bfloat16 and interleaved (a0 b0 a1 b1 ...): two rows of a VNNI
// pair in one store of 32 values.
IGPT_INLINE void store_bf16_pairs(uint16_t* p, VecF a, VecF b) {
  VecU u = bf16_bits(a) | (bf16_bits(b) << 16);
  std::memcpy(p, &u, sizeof u);
}

// The same roundings by AVX512-BF16's own instruction (vcvtneps2bf16: one instruction
// for bf16_bits' seven; nearest even, NaN kept a NaN). Only for code that runs where the
// CPU has it and VecF is one AVX-512 register: the AVX-512 build of flash_attention.cpp,
// which picks it at run time. Inline assembly, since GCC 12 converts no vector to
// bfloat16 by itself and its intrinsics do not inline into a function without the
// target (the kernel's template bodies have none of their own).
IGPT_INLINE VecH bf16_insn(VecF v) {
  VecH h;
  asm("vcvtneps2bf16 %1, %0" : "=v"(h) : "v"(v));
  return h;
}
IGPT_INLINE void store_bf16_insn(uint16_t* p, VecF v) {
  VecH h = bf16_insn(v);
  std::memcpy(p, &h, sizeof h);
}
// store_bf16_insn where kInsn (an AVX-512 build on a CPU with AVX512-BF16, chosen by
// the caller at run time), store_bf16 otherwise.
template <bool kInsn>
IGPT_INLINE void store_bf16_maybe_insn(uint16_t* p, VecF v) {
  if constexpr (kInsn)
    store_bf16_insn(p, v);
  else
    store_bf16(p, v);
}
// Two rows already rounded (bf16_insn's results) interleaved as store_bf16_pairs does.
IGPT_INLINE void store_bf16_pairs(uint16_t* p, VecH a, VecH b) {
  VecU u = __builtin_convertvector(a, VecU) | (__builtin_convertvector(b, VecU) << 16);
  std::memcpy(p, &u, sizeof u);
}

// 1 / a to about 2^-28 relative (float32's rounding): AVX-512's 14-bit estimate and one
// Newton step, for the AVX-512 builds only (vrcp14ps needs a 64-byte register); a
// division costs several times as much there (vdivps on 16 lanes).
IGPT_INLINE VecF reciprocal_avx512(VecF a) {
  VecF r;
  asm("vrcp14ps %1, %0" : "=v"(r) : "v"(a));
  return r * (2.0f - a * r);
}

// Whether this CPU has AVX512-BF16 (vcvtneps2bf16), asked once.
inline bool cpu_has_bf16_insn() {
  static const bool has = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512bf16") != 0;
  }();
  return has;
}

IGPT_INLINE float hmax(VecF v) {
  float m = v[0];
  for (int64_t i = 1; i < kLanes; ++i) m = std::max(m, v[i]);
  return m;
}
IGPT_INLINE float hsum(VecF v) {
  float s = 0;
  for (int64_t i = 0; i < kLanes; ++i) s += v[i];
  return s;
}

}  // namespace igpt::vec
