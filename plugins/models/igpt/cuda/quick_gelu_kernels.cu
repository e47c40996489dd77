// The quick GELU on a GPU: one pass forward, one backward, where composed operations
// take three kernels forward (mul, sigmoid, mul) and six backward, each a round trip
// of the (N, S, 4d) activations through memory. Memory-bound: a grid-stride loop, one
// value per thread and pass, so neighbouring threads read neighbouring addresses.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

#include "quick_gelu_kernels.hpp"

namespace igpt::cuda {

namespace {

constexpr float kA = 1.702f;
constexpr int kThreads = 256;          // per block
constexpr int64_t kMaxBlocks = 65535;  // enough to fill any GPU; the loop covers the rest

__device__ __forceinline__ float widen(float v) {
  return v;
}
__device__ __forceinline__ float widen(__nv_bfloat16 v) {
  return __bfloat162float(v);
}
template <class T>
__device__ __forceinline__ T narrow(float v);
template <>
__device__ __forceinline__ float narrow<float>(float v) {
  return v;
}
template <>
__device__ __forceinline__ __nv_bfloat16 narrow<__nv_bfloat16>(float v) {
  return __float2bfloat16_rn(v);
}

// sigmoid(a x); __expf of a large argument gives infinity, and 1 / infinity is 0: no NaN.
__device__ __forceinline__ float sigmoid_ax(float x) {
  return 1.0f / (1.0f + __expf(-kA * x));
}

template <class T>
__global__ void forward_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t n) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    const float v = widen(x[i]);
    y[i] = narrow<T>(v * sigmoid_ax(v));
  }
}

template <class T>
__global__ void backward_kernel(const T* __restrict__ x, const T* __restrict__ dy,
                                T* __restrict__ dx, int64_t n) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    const float v = widen(x[i]), s = sigmoid_ax(v);
    dx[i] = narrow<T>(widen(dy[i]) * (s + kA * v * s * (1.0f - s)));
  }
}

unsigned blocks_for(int64_t n) {
  const int64_t b = (n + kThreads - 1) / kThreads;
  return unsigned(b < kMaxBlocks ? (b > 0 ? b : 1) : kMaxBlocks);
}

void check_launch(const char* what) {
  const cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess)
    throw std::runtime_error(std::string("quick GELU ") + what + ": " + cudaGetErrorString(e));
}

}  // namespace

bool quick_gelu_runs_on_current_device() {
  cudaFuncAttributes attributes;
  const bool ok = cudaFuncGetAttributes(&attributes, forward_kernel<float>) == cudaSuccess &&
                  cudaFuncGetAttributes(&attributes, backward_kernel<__nv_bfloat16>) == cudaSuccess;
  cudaGetLastError();  // a failed query's error is not the next launch's
  return ok;
}

void quick_gelu_forward(const void* x, void* y, int64_t n, Dtype dtype, void* stream) {
  if (n == 0) return;
  auto s = static_cast<cudaStream_t>(stream);
  if (dtype == Dtype::Bfloat16)
    forward_kernel<<<blocks_for(n), kThreads, 0, s>>>(static_cast<const __nv_bfloat16*>(x),
                                                      static_cast<__nv_bfloat16*>(y), n);
  else
    forward_kernel<<<blocks_for(n), kThreads, 0, s>>>(static_cast<const float*>(x),
                                                      static_cast<float*>(y), n);
  check_launch("forward");
}

void quick_gelu_backward(const void* x, const void* dy, void* dx, int64_t n, Dtype dtype,
                         void* stream) {
  if (n == 0) return;
  auto s = static_cast<cudaStream_t>(stream);
  if (dtype == Dtype::Bfloat16)
    backward_kernel<<<blocks_for(n), kThreads, 0, s>>>(static_cast<const __nv_bfloat16*>(x),
                                                       static_cast<const __nv_bfloat16*>(dy),
                                                       static_cast<__nv_bfloat16*>(dx), n);
  else
    backward_kernel<<<blocks_for(n), kThreads, 0, s>>>(
        static_cast<const float*>(x), static_cast<const float*>(dy), static_cast<float*>(dx), n);
  check_launch("backward");
}

}  // namespace igpt::cuda
