#pragma once
// The fused quick GELU's CUDA kernels, behind plain C++ declarations: this header is
// included by quick_gelu.cpp (compiled by the C++ compiler, no CUDA types) and
// implemented in quick_gelu_kernels.cu (compiled by nvcc, no LibTorch headers, so it
// builds in seconds). Only built where CMake finds nvcc and LibTorch has CUDA
// (IGPT_CUDA_KERNELS).
#include <cstdint>

namespace igpt::cuda {

enum class Dtype { Float32, Bfloat16 };

// Whether the kernels have code this GPU (the current device) can run: a GPU older than
// the architectures built (WB_CUDA_ARCHITECTURES), or a CUDA runtime that cannot load
// them, answers false, and the caller takes composed operations instead.
bool quick_gelu_runs_on_current_device();

// y = x * sigmoid(1.702 x) over n contiguous values on the current device, queued on
// `stream` (a cudaStream_t). Computed in float32 whatever the storage.
void quick_gelu_forward(const void* x, void* y, int64_t n, Dtype dtype, void* stream);
// dx = dy * (s + 1.702 x s (1 - s)), s = sigmoid(1.702 x).
void quick_gelu_backward(const void* x, const void* dy, void* dx, int64_t n, Dtype dtype,
                         void* stream);

}  // namespace igpt::cuda
