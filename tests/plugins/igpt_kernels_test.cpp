// The igpt plugin's CPU kernels against the composed LibTorch operations they replace,
// values and gradients: the attention kernel (strips of query rows, scores never
// materialised, the causal half skipped), causal and bidirectional, with a sequence
// length that is not a multiple of the strip height; the fused quick GELU; the linear
// layer whose products are split across threads.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <workbench/precision.hpp>

#include "attention.hpp"
#include "linear.hpp"
#include "quick_gelu.hpp"

namespace {

struct Grads {
  torch::Tensor out, dq, dk, dv;
};

using Kernel = torch::Tensor (*)(const torch::Tensor&, const torch::Tensor&, const torch::Tensor&,
                                 bool);

Grads run(Kernel kernel, bool causal, int64_t s) {
  torch::manual_seed(3);
  auto opts = torch::TensorOptions().dtype(torch::kFloat32);
  // Made as (N, S, H, dh) and transposed, as the block does: non-contiguous inputs.
  auto q = torch::randn({2, s, 3, 8}, opts).transpose(1, 2).requires_grad_(true);
  auto k = torch::randn({2, s, 3, 8}, opts).transpose(1, 2).requires_grad_(true);
  auto v = torch::randn({2, s, 3, 8}, opts).transpose(1, 2).requires_grad_(true);
  auto w = torch::randn({2, 3, s, 8}, opts);  // a loss that weighs every output
  auto out = kernel(q, k, v, causal);
  (out * w).sum().backward();
  return {out.detach(), q.grad(), k.grad(), v.grad()};
}

void expect_close(const torch::Tensor& a, const torch::Tensor& b, const char* what) {
  EXPECT_TRUE(torch::allclose(a, b, 1e-4, 1e-5))
      << what << ": largest difference " << (a - b).abs().max().item<double>();
}

class AttentionKernel : public ::testing::TestWithParam<std::tuple<bool, int64_t>> {};

TEST_P(AttentionKernel, MatchesTheTextbookProductAndItsGradients) {
  const auto [causal, s] = GetParam();
  auto ref = run(igpt::attention_reference, causal, s);
  // The strip kernel itself (what LibTorch 1.x uses on the CPU) and what the model calls.
  for (Kernel kernel : {igpt::strip_attention, igpt::attention}) {
    auto ours = run(kernel, causal, s);
    expect_close(ours.out, ref.out, "output");
    expect_close(ours.dq, ref.dq, "dq");
    expect_close(ours.dk, ref.dk, "dk");
    expect_close(ours.dv, ref.dv, "dv");
  }
}

// 300 = two full strips of 128 and a partial one; 5 = less than one strip.
INSTANTIATE_TEST_SUITE_P(Shapes, AttentionKernel,
                         ::testing::Combine(::testing::Bool(), ::testing::Values(5, 300)));

TEST(AttentionKernel, FirstCausalPositionAttendsOnlyToItself) {
  auto q = torch::randn({1, 1, 4, 2}), k = torch::randn({1, 1, 4, 2}),
       v = torch::randn({1, 1, 4, 2});
  auto out = igpt::strip_attention(q, k, v, /*causal=*/true);
  EXPECT_TRUE(torch::allclose(out[0][0][0], v[0][0][0]));
}

TEST(QuickGelu, MatchesTheComposedFormulaAndItsGradient) {
  // 1000 values over [-12, 12] (both tails of the sigmoid) and a length that is not a
  // multiple of the vector width.
  auto x = torch::linspace(-12, 12, 1001).requires_grad_(true);
  auto w = torch::randn({1001});
  auto y = igpt::quick_gelu(x);
  (y * w).sum().backward();
  auto x2 = x.detach().clone().requires_grad_(true);
  auto y2 = x2 * torch::sigmoid(1.702 * x2);
  (y2 * w).sum().backward();
  expect_close(y.detach(), y2.detach(), "value");
  expect_close(x.grad(), x2.grad(), "gradient");
}

TEST(SplitLinear, MatchesMatmulAndItsGradients) {
  // 3 x 700 rows x 512 in x 96 out: large enough to be split across threads.
  auto x = torch::randn({3, 700, 512}).requires_grad_(true);
  auto w = torch::randn({96, 512}).requires_grad_(true);
  auto g = torch::randn({3, 700, 96});
  auto y = igpt::linear(x, w);
  (y * g).sum().backward();
  auto x2 = x.detach().clone().requires_grad_(true), w2 = w.detach().clone().requires_grad_(true);
  auto y2 = torch::matmul(x2, w2.t());
  (y2 * g).sum().backward();
  EXPECT_TRUE(torch::allclose(y, y2, 1e-4, 1e-3));
  EXPECT_TRUE(torch::allclose(x.grad(), x2.grad(), 1e-4, 1e-3));
  EXPECT_TRUE(torch::allclose(w.grad(), w2.grad(), 1e-4, 1e-3));
}

TEST(SplitLinear, UnderCpuAutocastTheProductIsBfloat16) {
  // training.precision = "bfloat16": the layers' products must reach autocast (a float32
  // SplitLinear would keep the CPU's bfloat16 units idle), and still agree with float32.
  auto x = torch::randn({3, 700, 512}), w = torch::randn({96, 512});
  auto y32 = igpt::linear(x, w);
  torch::Tensor y16;
  {
    wb::BfloatAutocast autocast(torch::kCPU, true);
    y16 = igpt::linear(x, w);
  }
  EXPECT_EQ(y32.scalar_type(), torch::kFloat32);
  EXPECT_EQ(y16.scalar_type(), torch::kBFloat16);
  EXPECT_TRUE(torch::allclose(y16.to(torch::kFloat32), y32, 0.02, 0.5));  // |y| ~ 22
  EXPECT_EQ(igpt::linear(x, w).scalar_type(), torch::kFloat32);           // the scope has closed
}

}  // namespace
