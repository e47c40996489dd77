#include "linear.hpp"

#include <ATen/ops/linear.h>

namespace igpt {

// LibTorch's product as it is: a split of the rows across threads of our own measured
// no faster than MKL's threading (train_bench, float32, S1 and S2: within 1 %), so
// none is kept.
torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& w) {
  return at::linear(x, w);
}

}  // namespace igpt
