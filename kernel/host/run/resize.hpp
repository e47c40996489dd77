#pragma once
#include <string>

#include <torch/types.h>

namespace wb {

// uint8 (N, H, W, C) -> uint8 (N, size, size, C); a no-op when already that size.
// filter: "area" (averaging over each output pixel's footprint: exact for integer
// factors, the paper's safe default), "bilinear" or "bicubic" (antialiased when
// shrinking), "nearest".
torch::Tensor resize_images(const torch::Tensor& images, int64_t size,
                            const std::string& filter = "area");

}  // namespace wb
