#pragma once
// Fixed-width vectors through GCC's vector extensions: 16 floats per value whatever the
// machine, so sums come out the same on AVX-512, AVX2 and SSE builds; the compiler
// lowers each operation to the widest registers the function's target allows (see
// target_clones at the kernels).
#include <cstdint>
#include <cstring>

namespace kmeans {

constexpr int64_t kLanes = 16;
typedef float VecF __attribute__((vector_size(kLanes * sizeof(float))));
typedef int32_t VecI __attribute__((vector_size(kLanes * sizeof(int32_t))));

inline VecF load(const float* p) {
  VecF v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store(float* p, VecF v) {
  std::memcpy(p, &v, sizeof v);
}
inline void store(int32_t* p, VecI v) {
  std::memcpy(p, &v, sizeof v);
}
inline VecF splat(float s) {
  return VecF{} + s;
}
inline VecI splat(int32_t s) {
  return VecI{} + s;
}
inline VecF vmin(VecF a, VecF b) {
  return a < b ? a : b;
}
inline float sum(VecF v) {
  float s = 0;
  for (int64_t i = 0; i < kLanes; ++i) s += v[i];
  return s;
}

// The clones a hot kernel is compiled into; the loader picks the best one the CPU has.
#define KMEANS_KERNEL __attribute__((target_clones("avx512f", "avx2", "default")))

}  // namespace kmeans
