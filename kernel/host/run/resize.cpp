#include "run/resize.hpp"

#include <torch/nn/functional/pooling.h>
#include <torch/nn/functional/upsampling.h>

#include <fmt/format.h>
#include <workbench/error.hpp>

namespace wb {

torch::Tensor resize_images(const torch::Tensor& images, int64_t size, const std::string& filter) {
  if (images.dim() != 4) throw Error("resize: images must be (N, H, W, C)");
  if (images.size(1) == size && images.size(2) == size) return images;
  namespace F = torch::nn::functional;
  auto x = images.permute({0, 3, 1, 2}).to(torch::kFloat32);  // (N, C, H, W)
  if (filter == "area") {
    x = torch::adaptive_avg_pool2d(x, {size, size});
  } else {
    auto opt = F::InterpolateFuncOptions().size(std::vector<int64_t>{size, size});
    if (filter == "bilinear")
      opt.mode(torch::kBilinear).align_corners(false).antialias(true);
    else if (filter == "bicubic")
      opt.mode(torch::kBicubic).align_corners(false).antialias(true);
    else if (filter == "nearest")
      opt.mode(torch::kNearest);
    else
      throw Error(fmt::format("resize: unknown filter '{}'", filter));
    x = F::interpolate(x, opt);
  }
  // (N, C, size, size) -> uint8 (N, size, size, C)
  return x.round().clamp(0, 255).to(torch::kUInt8).permute({0, 2, 3, 1}).contiguous();
}

}  // namespace wb
