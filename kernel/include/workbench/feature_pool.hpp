#pragma once
// How a model turns one layer's per-position states into the features a probe reads
// (FeatureRequest::grid). The paper averages over every position; a grid > 1
// averages over g x g regions of the square image instead and lays the region means
// side by side, so the probe also sees where in the image a feature was active (a
// global mean cannot: a sleeve on the left and one on the right pool alike). One
// definition for every model, so that a grid means the same whichever model reads it.
#include <cmath>
#include <string>

#include <torch/nn/functional/pooling.h>
#include <torch/types.h>

#include <workbench/error.hpp>

namespace wb {

// h: (N, S, d), S = side * side positions in raster order -> (N, d) for grid 1 (the
// mean over positions, in h's dtype), else float32 (N, grid * grid * d): the region
// means in raster order of regions, each region's d features together. Regions are
// adaptive_avg_pool2d's (equal when grid divides side, overlapping by a row otherwise).
inline torch::Tensor pool_positions(const torch::Tensor& h, int64_t grid) {
  if (grid == 1) return h.mean(1);
  const int64_t n = h.size(0), s = h.size(1), d = h.size(2);
  const auto side = static_cast<int64_t>(std::lround(std::sqrt(static_cast<double>(s))));
  if (side * side != s)
    throw Error("features pooled over a " + std::to_string(grid) + "x" + std::to_string(grid) +
                " grid need a square image, but the sequence has " + std::to_string(s) +
                " positions");
  if (grid < 1 || grid > side)
    throw Error("a feature grid of " + std::to_string(grid) + " must be in [1, " +
                std::to_string(side) + "] for a " + std::to_string(side) + "x" +
                std::to_string(side) + " image");
  auto x = h.to(torch::kFloat32).reshape({n, side, side, d}).permute({0, 3, 1, 2});  // (N, d, H, W)
  x = torch::adaptive_avg_pool2d(x, {grid, grid});                                   // (N, d, g, g)
  return x.permute({0, 2, 3, 1}).reshape({n, grid * grid * d});
}

}  // namespace wb
