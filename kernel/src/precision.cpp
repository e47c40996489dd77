#include <workbench/precision.hpp>

#include <ATen/autocast_mode.h>
#include <torch/version.h>

namespace wb {

bool uses_bfloat16(const std::string& precision, torch::Device device) {
  if (precision == "bfloat16") return true;
  if (precision == "float32") return false;
  return device.is_cuda();  // "auto"
}

BfloatAutocast::BfloatAutocast(torch::Device device, bool enabled)
    : device_(device), active_(enabled) {
  if (!active_) return;
  set(true);
  at::autocast::increment_nesting();
}

BfloatAutocast::~BfloatAutocast() {
  if (!active_) return;
  // Leaving the outermost scope drops the cached bfloat16 copies of the weights, which
  // the optimizer step is about to change.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  set(false);
}

// LibTorch 2.x names the device in every call; 1.x has one switch per device.
void BfloatAutocast::set(bool on) const {
#if TORCH_VERSION_MAJOR >= 2
  const auto type = device_.type();
  if (on) at::autocast::set_autocast_dtype(type, at::kBFloat16);
  at::autocast::set_autocast_enabled(type, on);
#else
  if (device_.is_cuda()) {
    if (on) at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
    at::autocast::set_enabled(on);
  } else {
    if (on) at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
    at::autocast::set_cpu_enabled(on);
  }
#endif
}

}  // namespace wb
