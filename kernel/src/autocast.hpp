#pragma once
// Mixed precision on CUDA: inside a BfloatAutocast scope, LibTorch's autocast runs
// matrix products and attention in bfloat16 and keeps reductions and losses in float32
// (the objectives cast logits to float32 themselves). On the CPU it does nothing: the
// CPU kernels are float32.
#include <torch/types.h>

namespace wb {

class BfloatAutocast {
 public:
  explicit BfloatAutocast(torch::Device device);
  ~BfloatAutocast();
  BfloatAutocast(const BfloatAutocast&) = delete;
  BfloatAutocast& operator=(const BfloatAutocast&) = delete;

 private:
  bool active_ = false;
};

}  // namespace wb
