#include "softmax_rows.hpp"

#include <cmath>
#include <cstring>

#include "vec.hpp"

namespace igpt {

namespace {
using namespace vec;

// s_j <- exp(scale * s_j - shift) for j < valid, 0 for valid <= j < len; returns the sum.
IGPT_INLINE float exp_row(float* s, int64_t valid, int64_t len, float scale, float shift) {
  VecF acc{};
  int64_t j = 0;
  for (; j + kLanes <= valid; j += kLanes) {
    VecF e = vexp(load(s + j) * scale - shift);
    acc += e;
    store(s + j, e);
  }
  if (j < valid) {
    VecF e = vexp(load_tail(s + j, valid - j, 0.0f) * scale - shift);
    for (int64_t i = valid - j; i < kLanes; ++i) e[i] = 0.0f;
    acc += e;
    store_tail(s + j, valid - j, e);
  }
  std::memset(s + valid, 0, (len - valid) * sizeof(float));
  return hsum(acc);
}

}  // namespace

IGPT_KERNEL float softmax_row(float* s, int64_t valid, int64_t len, float scale) {
  VecF m = splat(-INFINITY);
  int64_t j = 0;
  for (; j + kLanes <= valid; j += kLanes) {
    VecF x = load(s + j);
    m = x > m ? x : m;
  }
  float row_max = hmax(m);
  for (; j < valid; ++j) row_max = std::max(row_max, s[j]);
  const float shift = row_max * scale;  // scale > 0, so the maximum of the scaled row
  const float sum = exp_row(s, valid, len, scale, shift);
  const float inv = 1.0f / sum;
  for (j = 0; j + kLanes <= valid; j += kLanes) store(s + j, load(s + j) * inv);
  for (; j < valid; ++j) s[j] *= inv;
  return shift + std::log(sum);
}

IGPT_KERNEL void probabilities_row(float* s, int64_t valid, int64_t len, float scale, float lse) {
  exp_row(s, valid, len, scale, lse);
}

IGPT_KERNEL void softmax_grad_row(float* dp, const float* p, int64_t len, float scale,
                                  float delta) {
  int64_t j = 0;
  for (; j + kLanes <= len; j += kLanes)
    store(dp + j, (load(dp + j) - delta) * load(p + j) * scale);
  for (; j < len; ++j) dp[j] = (dp[j] - delta) * p[j] * scale;
}

}  // namespace igpt
