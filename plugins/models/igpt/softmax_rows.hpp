#pragma once
// The elementwise work of attention on one strip of scores, a row at a time: the
// exponentials (a vectorized polynomial, about 1 ulp) and the softmax gradient, fused
// into one or two passes over each row. Row r of a strip holds `len` scores of which
// the first `valid` are visible (the causal mask hides the rest); masked entries come
// out as exactly 0.
#include <cstdint>

namespace igpt {

// In place: s_j <- softmax_j(scale * s) over j < valid, 0 for valid <= j < len.
// Returns the row's log-sum-exp of the scaled scores (backward recomputes from it).
float softmax_row(float* s, int64_t valid, int64_t len, float scale);

// In place: s_j <- exp(scale * s_j - lse) for j < valid, 0 beyond: the forward pass's
// probabilities again, from its log-sum-exp.
void probabilities_row(float* s, int64_t valid, int64_t len, float scale, float lse);

// In place: dp_j <- scale * p_j * (dp_j - delta), the gradient of the scaled scores
// from that of the probabilities (delta = sum_j p_j dp_j = dO_i . O_i).
void softmax_grad_row(float* dp, const float* p, int64_t len, float scale, float delta);

}  // namespace igpt
