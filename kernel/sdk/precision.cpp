#include <workbench/precision.hpp>

#include <dlfcn.h>

#include <algorithm>

#include <ATen/autocast_mode.h>

namespace wb {

namespace {
// The device's compute capability as major * 10 + minor, read through the CUDA runtime
// that LibTorch's CUDA library has loaded (so libworkbench needs no CUDA headers); 0
// when there is none.
int cuda_compute_capability(int device) {
  using GetAttribute = int (*)(int*, int, int);
  constexpr int kMajor = 75, kMinor = 76;  // cudaDevAttrComputeCapabilityMajor, ...Minor
  auto get = reinterpret_cast<GetAttribute>(dlsym(RTLD_DEFAULT, "cudaDeviceGetAttribute"));
  int major = 0, minor = 0;
  if (!get || get(&major, kMajor, std::max(device, 0)) != 0 ||
      get(&minor, kMinor, std::max(device, 0)) != 0)
    return 0;
  return major * 10 + minor;
}
}  // namespace

bool has_native_bfloat16(torch::Device device) {
  if (device.is_cuda()) return cuda_compute_capability(device.index()) >= 80;
  // AVX512-BF16 (dot products of bfloat16 pairs) or AMX tiles: oneDNN's bfloat16
  // products run 4x float32's rate here (docs/performance.md); without them bfloat16 is
  // emulated and slower than float32.
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512bf16") || __builtin_cpu_supports("amx-bf16");
}

bool uses_bfloat16(const std::string& precision, torch::Device device) {
  if (precision == "bfloat16") return true;
  if (precision == "float32") return false;
  return has_native_bfloat16(device);  // "auto"
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

void BfloatAutocast::set(bool on) const {
  const auto type = device_.type();
  if (on) at::autocast::set_autocast_dtype(type, at::kBFloat16);
  at::autocast::set_autocast_enabled(type, on);
}

}  // namespace wb
