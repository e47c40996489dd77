#include "autocast.hpp"

#include <ATen/autocast_mode.h>
#include <torch/version.h>

namespace wb {

// LibTorch 2.x names the device in every call; 1.x has one CUDA-only switch.
BfloatAutocast::BfloatAutocast(torch::Device device) : active_(device.is_cuda()) {
  if (!active_) return;
#if TORCH_VERSION_MAJOR >= 2
  at::autocast::set_autocast_dtype(at::kCUDA, at::kBFloat16);
  at::autocast::set_autocast_enabled(at::kCUDA, true);
#else
  at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
  at::autocast::set_enabled(true);
#endif
  at::autocast::increment_nesting();
}

BfloatAutocast::~BfloatAutocast() {
  if (!active_) return;
  // Leaving the outermost scope drops the cached bfloat16 copies of the weights, which
  // the optimizer step is about to change.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
#if TORCH_VERSION_MAJOR >= 2
  at::autocast::set_autocast_enabled(at::kCUDA, false);
#else
  at::autocast::set_enabled(false);
#endif
}

}  // namespace wb
