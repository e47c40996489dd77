#include "resize.hpp"

#include <torch/nn/functional/pooling.h>

#include <workbench/error.hpp>

namespace wb {

torch::Tensor resize_area(const torch::Tensor& images, int64_t size) {
  if (images.dim() != 4) throw Error("resize_area: images must be (N, H, W, C)");
  if (images.size(1) == size && images.size(2) == size) return images;
  auto x = images.permute({0, 3, 1, 2}).to(torch::kFloat32);  // (N, C, H, W)
  x = torch::adaptive_avg_pool2d(x, {size, size});            // (N, C, size, size)
  return x.round().clamp(0, 255).to(torch::kUInt8).permute({0, 2, 3, 1}).contiguous();
}

}  // namespace wb
