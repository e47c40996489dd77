// The igpt plugin's own fused attention (flash_attention.cpp) against the composed
// attention it replaces, softmax(q k^T / sqrt(dh) + mask) v, for values and for the
// gradients of q, k and v: causal and bidirectional, every head width the kernel takes,
// sequence lengths that fill, split and miss its 64-key tiles, strided inputs (as the
// model's q/k/v split gives), in float32 and in bfloat16 (products in bfloat16 on AMX,
// widened to float32 elsewhere: the test says which this CPU runs).
// The elementwise parts are built for AVX-512 and for AVX2 with FMA: the one the CPU
// runs is tested here (the test says which); the other runs on the other kind of
// machine, and a CPU with neither skips, saying so (the model uses LibTorch's kernel
// there). The products are oneDNN's: `ONEDNN_MAX_CPU_ISA=AVX2 ctest -R FlashAttention`
// runs the AVX2 float32 products on an AVX-512 machine.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>

#include "flash_attention.hpp"

namespace {

torch::Tensor composed(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                       bool causal) {
  const int64_t s = q.size(2);
  auto scores = torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(double(q.size(3)));
  if (causal) scores = scores.masked_fill(torch::ones({s, s}, torch::kBool).triu(1), -INFINITY);
  return torch::matmul(torch::softmax(scores, -1), v);
}

struct Grads {
  torch::Tensor y, dq, dk, dv;
};

Grads run(bool own, const torch::Tensor& q0, const torch::Tensor& k0, const torch::Tensor& v0,
          const torch::Tensor& w, bool causal) {
  auto q = q0.detach().clone().requires_grad_(true), k = k0.detach().clone().requires_grad_(true),
       v = v0.detach().clone().requires_grad_(true);
  auto y = own ? igpt::flash_attention(q, k, v, causal) : composed(q, k, v, causal);
  (y.to(torch::kFloat) * w).sum().backward();
  return {y.detach().to(torch::kFloat), q.grad().to(torch::kFloat), k.grad().to(torch::kFloat),
          v.grad().to(torch::kFloat)};
}

void expect_close(const torch::Tensor& a, const torch::Tensor& b, double tol, const char* what) {
  const double diff = (a - b).abs().max().item<double>();
  const double scale = b.abs().max().item<double>();
  EXPECT_LE(diff, tol * std::max(1.0, scale)) << what << ": largest difference " << diff;
}

// The version of the kernel this CPU runs; "" when it runs none.
std::string cpu_path() {
  if (!igpt::flash_attention_cpu_problem().empty()) return "";
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") ? "AVX-512" : "AVX2";
}

#define SKIP_WITHOUT_A_KERNEL()                                                         \
  if (cpu_path().empty())                                                               \
  GTEST_SKIP() << "the own attention is built for AVX-512 and AVX2 with FMA; this CPU " \
                  "has neither"

}  // namespace

// Every shape of the grid above, in `dtype`, against the composed attention in float32
// on the same values.
void expect_the_composed_attention(torch::ScalarType dtype, double tol_y, double tol_grad) {
  for (const bool causal : {true, false})
    for (const int64_t d : {16, 32, 64, 128})
      for (const int64_t s : {1, 5, 64, 100, 196, 300, 520}) {
        SCOPED_TRACE(testing::Message() << "causal " << causal << " dh " << d << " S " << s);
        torch::manual_seed(s * 7 + d);
        // (N, S, H, dh) transposed to (N, H, S, dh): strided, as the model hands them.
        auto make = [&] { return torch::randn({2, s, 3, d}).to(dtype).transpose(1, 2); };
        auto q = make(), k = make(), v = make(), w = torch::randn({2, 3, s, d});
        const auto own = run(true, q, k, v, w, causal);
        const auto ref =
            run(false, q.to(torch::kFloat), k.to(torch::kFloat), v.to(torch::kFloat), w, causal);
        expect_close(own.y, ref.y, tol_y, "output");
        expect_close(own.dq, ref.dq, tol_grad, "dq");
        expect_close(own.dk, ref.dk, tol_grad, "dk");
        expect_close(own.dv, ref.dv, tol_grad, "dv");
      }
}

TEST(FlashAttention, MatchesTheComposedAttentionInValuesAndGradients) {
  SKIP_WITHOUT_A_KERNEL();
  std::cout << "flash attention: testing the " << cpu_path()
            << " version (the one this CPU runs), products in "
            << igpt::flash_attention_products(torch::kFloat) << "\n";
  expect_the_composed_attention(torch::kFloat, 1e-5, 1e-4);
}

// In bfloat16 the probabilities and dS are rounded to bfloat16 before their products
// (on AMX), as LibTorch's kernel does under autocast: a few parts in a thousand.
TEST(FlashAttention, MatchesTheComposedAttentionInBfloat16) {
  SKIP_WITHOUT_A_KERNEL();
  std::cout << "flash attention: bfloat16 products in "
            << igpt::flash_attention_products(torch::kBFloat16) << " on this CPU\n";
  expect_the_composed_attention(torch::kBFloat16, 3e-2, 5e-2);
}

TEST(FlashAttention, TakesBfloat16AndReturnsIt) {
  SKIP_WITHOUT_A_KERNEL();
  torch::manual_seed(3);
  auto make = [] { return torch::randn({2, 4, 196, 16}).to(torch::kBFloat16); };
  auto q = make(), k = make(), v = make();
  auto w = torch::randn({2, 4, 196, 16});
  const auto own = run(true, q, k, v, w, true);
  // The reference in float32 on the same (bfloat16) values: the differences are the
  // rounding of the output, and on AMX of the probabilities, to bfloat16.
  const auto ref =
      run(false, q.to(torch::kFloat), k.to(torch::kFloat), v.to(torch::kFloat), w, true);
  expect_close(own.y, ref.y, 1e-2, "output");
  expect_close(own.dq, ref.dq, 2e-2, "dq");
  EXPECT_EQ(igpt::flash_attention(q, k, v, true).scalar_type(), torch::kBFloat16);
}

TEST(FlashAttention, SaysWhichInputsItLeavesToLibTorch) {
  auto x = torch::randn({1, 2, 8, 16});
  EXPECT_EQ(igpt::flash_attention_unsupported(x, x, x),
            cpu_path().empty()
                ? "the CPU has no AVX2 with FMA (the kernel is built for AVX-512 and AVX2 only)"
                : "");
  auto odd = torch::randn({1, 2, 8, 24});
  EXPECT_EQ(igpt::flash_attention_unsupported(odd, odd, odd),
            "head width 24 is not 16, 32, 64 or 128");
  auto dbl = x.to(torch::kDouble);
  EXPECT_EQ(igpt::flash_attention_unsupported(dbl, dbl, dbl), "not float32 or bfloat16");
}
