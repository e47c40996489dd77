#pragma once
// The STL-10 binary format: X files of 96x96 RGB images stored column-major, as MATLAB
// writes them (per image the red plane, then green, then blue, each column after
// column); y files of one label byte per image, 1..10.
#include <string>

#include <workbench/workbench.hpp>

namespace stl10 {

constexpr int64_t kSide = 96, kImageBytes = 3 * kSide * kSide;

// uint8 (N, 96, 96, 3) from an X file; a partial last image is an error naming it.
torch::Tensor read_images(const std::string& path);
// int64 (N) in 0..9 from a y file that must hold exactly `expected` labels in 1..10.
torch::Tensor read_labels(const std::string& path, int64_t expected);

}  // namespace stl10
