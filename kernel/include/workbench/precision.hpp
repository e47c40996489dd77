#pragma once
// Mixed precision: inside a BfloatAutocast scope, LibTorch's autocast runs matrix
// products and attention in bfloat16 and keeps reductions and losses in float32 (the
// objectives cast logits to float32 themselves); weights, gradients and the optimizer
// stay float32. training.precision picks where: "auto" is bfloat16 where the hardware
// multiplies bfloat16 faster than float32 (has_native_bfloat16), "bfloat16" always,
// "float32" never. The trainer opens a scope around each forward pass; evaluators open one where
// EvalInputs::bfloat16 says so, so that features and fine-tuning run as pretraining did.
#include <string>

#include <torch/types.h>

#include <workbench/export.hpp>

namespace wb {

// CUDA devices of compute capability 8.0 or higher; CPUs with AMX, and AMD's with
// AVX512-BF16 (Zen 4). Not Intel's with AVX512-BF16 but no AMX: slower than float32.
WB_API bool has_native_bfloat16(torch::Device device);

// Whether training.precision = `precision` runs `device` under bfloat16 autocast.
WB_API bool uses_bfloat16(const std::string& precision, torch::Device device);

class WB_API BfloatAutocast {
 public:
  // Does nothing unless `enabled`.
  BfloatAutocast(torch::Device device, bool enabled);
  ~BfloatAutocast();
  BfloatAutocast(const BfloatAutocast&) = delete;
  BfloatAutocast& operator=(const BfloatAutocast&) = delete;

 private:
  void set(bool on) const;
  torch::Device device_;
  bool active_ = false;
};

// Float32 inside a BfloatAutocast scope: autocast off on `device` until the end of this
// scope, then as it was. For a computation bfloat16's 8 significant bits would spoil
// (a classifier head that carries a folded-in standardisation) inside an Optimiser's
// step, which opens its autocast scope around the whole loss.
class WB_API Float32Scope {
 public:
  explicit Float32Scope(torch::Device device);
  ~Float32Scope();
  Float32Scope(const Float32Scope&) = delete;
  Float32Scope& operator=(const Float32Scope&) = delete;

 private:
  torch::Device device_;
  bool was_enabled_;
};

}  // namespace wb
