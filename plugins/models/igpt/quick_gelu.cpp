#include "quick_gelu.hpp"

#include <atomic>

#include <ATen/Parallel.h>
#include <torch/autograd.h>

#include "vec.hpp"

#ifdef IGPT_CUDA_KERNELS
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include "cuda/quick_gelu_kernels.hpp"
#endif

namespace igpt {

namespace {
using namespace vec;

constexpr float kA = 1.702f;
constexpr int64_t kGrain = 1 << 15;  // elements per task: enough to amortise a thread's start

// sigmoid(a x) = 1 / (1 + exp(-a x)); vexp clamps, so no infinity or NaN arises. kFast
// (the AVX-512 build on a CPU with AVX512-BF16, for bfloat16 results): AVX-512's
// reciprocal estimate with a Newton step instead of the division.
template <bool kFast = false>
IGPT_INLINE VecF sigmoid_ax(VecF x) {
  const VecF denominator = 1.0f + vexp(x * -kA);
  if constexpr (kFast)
    return reciprocal_avx512(denominator);
  else
    return 1.0f / denominator;
}

template <bool kFast = false>
IGPT_INLINE VecF gelu(VecF x) {
  return x * sigmoid_ax<kFast>(x);
}
// d/dx x s(ax) = s + a x s (1 - s), times the incoming gradient g.
template <bool kFast = false>
IGPT_INLINE VecF grad(VecF x, VecF g) {
  VecF s = sigmoid_ax<kFast>(x);
  return g * (s + kA * x * s * (1.0f - s));
}

IGPT_KERNEL void gelu_forward(const float* x, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) store(y + i, gelu(load(x + i)));
  if (i < n) store_tail(y + i, n - i, gelu(load_tail(x + i, n - i, 0.0f)));
}

IGPT_KERNEL void gelu_backward(const float* x, const float* dy, float* dx, int64_t n) {
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) store(dx + i, grad(load(x + i), load(dy + i)));
  if (i < n)
    store_tail(dx + i, n - i, grad(load_tail(x + i, n - i, 0.0f), load_tail(dy + i, n - i, 0.0f)));
}

// The same in bfloat16 (CPU autocast hands the MLP's product over in bfloat16): each
// value widened to float32, computed there, rounded back once.
IGPT_INLINE VecF load_bf16_tail(const uint16_t* p, int64_t n) {
  uint16_t buf[kLanes] = {};
  std::memcpy(buf, p, n * sizeof(uint16_t));
  return load_bf16(buf);
}
IGPT_INLINE void store_bf16_tail(uint16_t* p, int64_t n, VecF v) {
  uint16_t buf[kLanes];
  store_bf16(buf, v);
  std::memcpy(p, buf, n * sizeof(uint16_t));
}

// kInsn: rounded by AVX512-BF16's instruction, the sigmoid by the reciprocal estimate
// (one instruction for the portable rounding's seven, and no division); the tail as the
// portable build computes it.
template <bool kInsn>
IGPT_INLINE void gelu_forward_bf16_impl(const uint16_t* x, uint16_t* y, int64_t n) {
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    store_bf16_maybe_insn<kInsn>(y + i, gelu<kInsn>(load_bf16(x + i)));
  if (i < n) store_bf16_tail(y + i, n - i, gelu(load_bf16_tail(x + i, n - i)));
}

template <bool kInsn>
IGPT_INLINE void gelu_backward_bf16_impl(const uint16_t* x, const uint16_t* dy, uint16_t* dx,
                                         int64_t n) {
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    store_bf16_maybe_insn<kInsn>(dx + i, grad<kInsn>(load_bf16(x + i), load_bf16(dy + i)));
  if (i < n)
    store_bf16_tail(dx + i, n - i,
                    grad(load_bf16_tail(x + i, n - i), load_bf16_tail(dy + i, n - i)));
}

IGPT_KERNEL void gelu_forward_bf16(const uint16_t* x, uint16_t* y, int64_t n) {
  gelu_forward_bf16_impl<false>(x, y, n);
}
IGPT_KERNEL void gelu_backward_bf16(const uint16_t* x, const uint16_t* dy, uint16_t* dx,
                                    int64_t n) {
  gelu_backward_bf16_impl<false>(x, dy, dx, n);
}
// The same for a CPU with AVX512-BF16 (chosen at run time: cpu_has_bf16_insn).
__attribute__((target("avx512f"))) void gelu_forward_bf16_insn(const uint16_t* x, uint16_t* y,
                                                               int64_t n) {
  gelu_forward_bf16_impl<true>(x, y, n);
}
__attribute__((target("avx512f"))) void gelu_backward_bf16_insn(const uint16_t* x,
                                                                const uint16_t* dy, uint16_t* dx,
                                                                int64_t n) {
  gelu_backward_bf16_impl<true>(x, dy, dx, n);
}

template <class T>
T* ptr(const torch::Tensor& t) {
  return static_cast<T*>(t.data_ptr());
}

struct QuickGelu : torch::autograd::Function<QuickGelu> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x_in) {
    auto x = x_in.contiguous();
    auto y = torch::empty_like(x);
    const bool bf16 = x.scalar_type() == torch::kBFloat16, insn = bf16 && cpu_has_bf16_insn();
    at::parallel_for(0, x.numel(), kGrain, [&](int64_t b, int64_t e) {
      if (insn)
        gelu_forward_bf16_insn(ptr<uint16_t>(x) + b, ptr<uint16_t>(y) + b, e - b);
      else if (bf16)
        gelu_forward_bf16(ptr<uint16_t>(x) + b, ptr<uint16_t>(y) + b, e - b);
      else
        gelu_forward(ptr<float>(x) + b, ptr<float>(y) + b, e - b);
    });
    ctx->save_for_backward({x});
    return y;
  }
  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    auto x = ctx->get_saved_variables()[0];
    auto dy = grads[0].to(x.scalar_type()).contiguous();
    auto dx = torch::empty_like(x);
    const bool bf16 = x.scalar_type() == torch::kBFloat16, insn = bf16 && cpu_has_bf16_insn();
    at::parallel_for(0, x.numel(), kGrain, [&](int64_t b, int64_t e) {
      if (insn)
        gelu_backward_bf16_insn(ptr<uint16_t>(x) + b, ptr<uint16_t>(dy) + b, ptr<uint16_t>(dx) + b,
                                e - b);
      else if (bf16)
        gelu_backward_bf16(ptr<uint16_t>(x) + b, ptr<uint16_t>(dy) + b, ptr<uint16_t>(dx) + b,
                           e - b);
      else
        gelu_backward(ptr<float>(x) + b, ptr<float>(dy) + b, ptr<float>(dx) + b, e - b);
    });
    return {dx};
  }
};

#ifdef IGPT_CUDA_KERNELS
// The same on a GPU: the kernels of cuda/quick_gelu_kernels.cu on the tensor's device
// and its current stream (so a CUDA graph that captures the step captures them too).
struct QuickGeluCuda : torch::autograd::Function<QuickGeluCuda> {
  static cuda::Dtype dtype_of(const torch::Tensor& t) {
    return t.scalar_type() == torch::kBFloat16 ? cuda::Dtype::Bfloat16 : cuda::Dtype::Float32;
  }
  static void* stream_of(const torch::Tensor& t) {
    return c10::cuda::getCurrentCUDAStream(t.device().index()).stream();
  }
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x_in) {
    c10::cuda::CUDAGuard on(x_in.device());
    auto x = x_in.contiguous();
    auto y = torch::empty_like(x);
    cuda::quick_gelu_forward(x.data_ptr(), y.data_ptr(), x.numel(), dtype_of(x), stream_of(x));
    ctx->save_for_backward({x});
    return y;
  }
  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    auto x = ctx->get_saved_variables()[0];
    c10::cuda::CUDAGuard on(x.device());
    auto dy = grads[0].to(x.scalar_type()).contiguous();
    auto dx = torch::empty_like(x);
    cuda::quick_gelu_backward(x.data_ptr(), dy.data_ptr(), dx.data_ptr(), x.numel(), dtype_of(x),
                              stream_of(x));
    return {dx};
  }
};

// Whether the kernels run on x's GPU, asked once per device.
bool cuda_kernels_run_on(const torch::Tensor& x) {
  constexpr int kDevices = 64;
  static std::atomic<int8_t> known[kDevices] = {};  // 0 not asked, 1 yes, -1 no
  const int index = x.device().index();
  if (index < 0 || index >= kDevices) return false;
  if (known[index] == 0) {
    c10::cuda::CUDAGuard on(x.device());
    known[index] = cuda::quick_gelu_runs_on_current_device() ? 1 : -1;
  }
  return known[index] == 1;
}
#endif

bool fused_dtype(const torch::Tensor& x) {
  return x.scalar_type() == torch::kFloat32 || x.scalar_type() == torch::kBFloat16;
}

}  // namespace

bool quick_gelu_fused_on_cuda() {
#ifdef IGPT_CUDA_KERNELS
  return true;
#else
  return false;
#endif
}

// Measured against the composed operations (docs/performance.md): 1-2 % of the float32
// training step; level with them in the bfloat16 step. Kept in bfloat16 for the probe's
// feature pass, where the composed operations were among the largest costs.
torch::Tensor quick_gelu(const torch::Tensor& x) {
  if (x.device().is_cpu() && fused_dtype(x)) return QuickGelu::apply(x);
#ifdef IGPT_CUDA_KERNELS
  if (x.device().is_cuda() && fused_dtype(x) && cuda_kernels_run_on(x))
    return QuickGeluCuda::apply(x);
#endif
  return x * torch::sigmoid(kA * x);
}

}  // namespace igpt
