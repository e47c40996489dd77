#pragma once
#include <string>

#include <torch/types.h>

#include <workbench/plugin.hpp>

namespace wb {

// Pixels to tokens: a palette fitted on training pixels, nearest-colour encoding.
class WB_API Quantizer : public Plugin {
 public:
  ~Quantizer() override;
  virtual void fit(const torch::Tensor& pixels) = 0;                    // uint8 (N, H, W, C)
  virtual torch::Tensor encode(const torch::Tensor& pixels) const = 0;  // -> int64 (N, H*W)
  // tokens int64 (N, H*W) -> uint8 (N, H, W, C), the palette's colours
  virtual torch::Tensor decode(const torch::Tensor& tokens, int64_t height,
                               int64_t width) const = 0;
  virtual int64_t vocab_size() const = 0;
  // Values per pixel the palette's colours have (1 grey, 3 RGB); known once fitted or
  // loaded.
  virtual int64_t channels() const = 0;
  // The fitted palette, so a run can reuse it (an artifact keyed by what determines it).
  virtual void save(const std::string& path) const = 0;
  virtual void load(const std::string& path) = 0;
};

template <>
constexpr const char* kind_name<Quantizer>() {
  return "quantizer";
}

}  // namespace wb
