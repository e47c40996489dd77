#include "linear.hpp"

#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <torch/autograd.h>

namespace igpt {

namespace {

// Products smaller than this many multiply-adds run as one call: splitting them costs
// more than it gains.
constexpr int64_t kSplitMacs = 1 << 22;

// out = a b, the rows of a and out shared among LibTorch's threads, each product a
// single-threaded BLAS call. The workbench runs OpenBLAS with one thread of its own
// (runner.cpp, set_threads), so that its threads and LibTorch's never compete for the
// cores; the large products of the layers get all cores this way instead.
void mm_split_rows(torch::Tensor& out, const torch::Tensor& a, const torch::Tensor& b) {
  const int64_t m = a.size(0);
  const int64_t threads = at::get_num_threads();
  if (threads == 1 || m * a.size(1) * b.size(1) < kSplitMacs) {
    at::mm_out(out, a, b);
    return;
  }
  const int64_t grain = (m + threads - 1) / threads;
  at::parallel_for(0, m, grain, [&](int64_t r0, int64_t r1) {
    auto o = out.narrow(0, r0, r1 - r0);
    at::mm_out(o, a.narrow(0, r0, r1 - r0), b);
  });
}

struct SplitLinear : torch::autograd::Function<SplitLinear> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& w) {
    auto x2 = x.reshape({-1, x.size(-1)});  // (M, in)
    auto y = torch::empty({x2.size(0), w.size(0)}, x.options());
    mm_split_rows(y, x2, w.t());
    ctx->save_for_backward({x2, w});
    auto shape = x.sizes().vec();
    shape.back() = w.size(0);
    return y.view(shape);
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto &x2 = saved[0], &w = saved[1];
    auto dy = grads[0].reshape({-1, w.size(0)});  // (M, out)
    if (dy.stride(-1) != 1) dy = dy.contiguous();
    auto dx = torch::empty_like(x2);  // (M, in) = dy W
    mm_split_rows(dx, dy, w);
    auto dw = torch::empty_like(w);  // (out, in) = dy^T x, split over output rows
    mm_split_rows(dw, dy.t(), x2);
    auto shape = grads[0].sizes().vec();
    shape.back() = w.size(1);
    return {dx.view(shape), dw};
  }
};

// training.precision = "bfloat16" on the CPU: the products must go through LibTorch's
// own operators, which autocast casts to bfloat16 (SplitLinear's out= calls it leaves
// alone, and a float32 product would forfeit the AMX/AVX512-BF16 units).
bool cpu_autocast() {
  return at::autocast::is_autocast_enabled(at::kCPU);
}

}  // namespace

torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& w) {
  if (x.device().is_cpu() && x.scalar_type() == torch::kFloat32 && x.dim() >= 2 && !cpu_autocast())
    return SplitLinear::apply(x, w);
  return torch::matmul(x, w.t());
}

}  // namespace igpt
