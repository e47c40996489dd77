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
  // Where LibTorch's bfloat16 products outrun its float32 ones (train_bench's `peak:`
  // line, a 2048^3 product each way, docs/performance.md): AMX tiles; AVX512-BF16 on
  // AMD's Zen 4 (about 4x float32's rate). An Intel Xeon with AVX512-BF16 but no AMX
  // measured the other way (166 against 317 GFLOP/s on 2 cores: oneDNN has no fast
  // bfloat16 path there), and without either bfloat16 is emulated.
  __builtin_cpu_init();
  if (__builtin_cpu_supports("amx-bf16")) return true;
  return __builtin_cpu_supports("avx512bf16") && __builtin_cpu_is("amd");
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

Float32Scope::Float32Scope(torch::Device device)
    : device_(device), was_enabled_(at::autocast::is_autocast_enabled(device.type())) {
  if (was_enabled_) at::autocast::set_autocast_enabled(device_.type(), false);
}

Float32Scope::~Float32Scope() {
  if (was_enabled_) at::autocast::set_autocast_enabled(device_.type(), true);
}

}  // namespace wb
