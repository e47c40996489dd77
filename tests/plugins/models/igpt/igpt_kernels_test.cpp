// The igpt plugin's CPU kernels against the composed LibTorch operations they replace,
// values and gradients: the residual add fused with the RMS norm, in float32 and under
// bfloat16 autocast; the fused quick GELU, in both precisions (and its CUDA kernel on
// a GPU); the linear layer under autocast.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <workbench/precision.hpp>

#include "linear.hpp"
#include "quick_gelu.hpp"
#include "rms_norm.hpp"

namespace {

void expect_close(const torch::Tensor& a, const torch::Tensor& b, const char* what) {
  EXPECT_TRUE(torch::allclose(a, b, 1e-4, 1e-5))
      << what << ": largest difference " << (a - b).abs().max().item<double>();
}

struct NormRun {
  torch::Tensor s, n, dx, ddelta, dg;
};

// (3, 37, 64) rows (37: more rows than one task takes), a loss weighing both outputs.
NormRun run_norm(bool fused, bool with_delta, bool bf16) {
  torch::manual_seed(11);
  auto x = torch::randn({3, 37, 64}).requires_grad_(true);
  auto delta = torch::randn({3, 37, 64}).to(bf16 ? torch::kBFloat16 : torch::kFloat32);
  delta.requires_grad_(true);
  auto g = (torch::rand({64}) + 0.5).requires_grad_(true);
  auto ws = torch::randn({3, 37, 64}), wn = torch::randn({3, 37, 64});
  auto d = with_delta ? delta : torch::Tensor();
  torch::Tensor s, n;
  {
    wb::BfloatAutocast autocast(torch::kCPU, bf16);
    std::tie(s, n) = fused ? igpt::add_rms_norm(x, d, g) : igpt::add_rms_norm_reference(x, d, g);
  }
  ((s * ws).sum() + (n.to(torch::kFloat32) * wn).sum()).backward();
  return {s.detach(), n.detach().to(torch::kFloat32), x.grad(),
          with_delta ? delta.grad().to(torch::kFloat32) : torch::Tensor(), g.grad()};
}

class AddRmsNorm : public ::testing::TestWithParam<bool> {};

TEST_P(AddRmsNorm, MatchesTheComposedOperationsInFloat32) {
  const bool with_delta = GetParam();
  auto ours = run_norm(true, with_delta, false), ref = run_norm(false, with_delta, false);
  expect_close(ours.s, ref.s, "s");
  expect_close(ours.n, ref.n, "n");
  expect_close(ours.dx, ref.dx, "dx");
  if (with_delta) expect_close(ours.ddelta, ref.ddelta, "ddelta");
  expect_close(ours.dg, ref.dg, "dg");
}

TEST_P(AddRmsNorm, UnderAutocastWritesBfloat16ForTheNextProduct) {
  const bool with_delta = GetParam();
  torch::manual_seed(1);
  auto x = torch::randn({4, 64});
  torch::Tensor n;
  {
    wb::BfloatAutocast autocast(torch::kCPU, true);
    n = igpt::add_rms_norm(x,
                           with_delta ? torch::randn({4, 64}, torch::kBFloat16) : torch::Tensor(),
                           torch::ones({64}))
            .second;
  }
  EXPECT_EQ(n.scalar_type(), torch::kBFloat16);
  // Values and gradients within bfloat16's rounding of the composed float32 ones.
  auto ours = run_norm(true, with_delta, true), ref = run_norm(false, with_delta, false);
  EXPECT_TRUE(torch::allclose(ours.n, ref.n, 0.02, 0.02));
  EXPECT_TRUE(torch::allclose(ours.dx, ref.dx, 0.02, 0.05))
      << (ours.dx - ref.dx).abs().max().item<double>();
  EXPECT_TRUE(torch::allclose(ours.dg, ref.dg, 0.02, 0.5))
      << (ours.dg - ref.dg).abs().max().item<double>();
}

INSTANTIATE_TEST_SUITE_P(WithAndWithoutResidual, AddRmsNorm, ::testing::Bool());

TEST(QuickGelu, InBfloat16MatchesTheFloat32KernelToItsRounding) {
  auto x32 = torch::linspace(-12, 12, 1001);
  auto x16 = x32.to(torch::kBFloat16).requires_grad_(true);
  auto w = torch::randn({1001}).to(torch::kBFloat16);
  auto y16 = igpt::quick_gelu(x16);
  EXPECT_EQ(y16.scalar_type(), torch::kBFloat16);
  (y16 * w).sum().backward();
  auto xr = x16.detach().to(torch::kFloat32).requires_grad_(true);  // the same inputs, float32
  auto yr = xr * torch::sigmoid(1.702 * xr);
  (yr * w.to(torch::kFloat32)).sum().backward();
  EXPECT_TRUE(torch::allclose(y16.detach().to(torch::kFloat32), yr.detach(), 0.01, 0.01));
  EXPECT_TRUE(torch::allclose(x16.grad().to(torch::kFloat32), xr.grad(), 0.01, 0.02));
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

// The CUDA kernels (cuda/quick_gelu_kernels.cu): checked on a GPU machine by
// tools/gpu/check.sh's run of this suite.
TEST(QuickGelu, OnAGpuTheFusedKernelMatchesTheComposedFormula) {
  if (!torch::cuda::is_available())
    GTEST_SKIP() << "no CUDA device here: the GPU kernel is checked by tools/gpu/check.sh";
  if (!igpt::quick_gelu_fused_on_cuda())
    GTEST_SKIP() << "built without nvcc: a GPU run takes composed operations";
  // More values than one launch's threads (65535 blocks x 256), so the grid-stride
  // loop's later passes count too, and a length no block size divides.
  const int64_t n = 65535LL * 256 + 1001;
  for (auto dtype : {torch::kFloat32, torch::kBFloat16}) {
    auto x = (torch::rand({n}, torch::kCUDA) * 24 - 12).to(dtype).requires_grad_(true);
    auto w = torch::randn({n}, torch::kCUDA).to(dtype);
    auto y = igpt::quick_gelu(x);
    EXPECT_EQ(y.scalar_type(), dtype);
    (y * w).sum().backward();
    auto xr = x.detach().to(torch::kFloat32).requires_grad_(true);  // the reference in float32
    auto yr = xr * torch::sigmoid(1.702 * xr);
    (yr * w.to(torch::kFloat32)).sum().backward();
    const double tol = dtype == torch::kFloat32 ? 1e-5 : 0.01;
    EXPECT_TRUE(torch::allclose(y.detach().to(torch::kFloat32), yr.detach(), tol, tol))
        << c10::toString(dtype) << ": " << (y.detach().to(torch::kFloat32) - yr).abs().max();
    EXPECT_TRUE(torch::allclose(x.grad().to(torch::kFloat32), xr.grad(), tol, 2 * tol))
        << c10::toString(dtype) << ": " << (x.grad().to(torch::kFloat32) - xr.grad()).abs().max();
  }
}

TEST(Linear, UnderCpuAutocastTheProductIsBfloat16) {
  // training.precision = "bfloat16": the layers' products must reach autocast (a product
  // of our own in float32 would keep the CPU's bfloat16 units idle), and still agree
  // with float32.
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
