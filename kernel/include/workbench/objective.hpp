#pragma once
#include <map>
#include <string>

#include <torch/types.h>

#include <workbench/model.hpp>
#include <workbench/plugin.hpp>

namespace wb {

struct LossOutput {
  torch::Tensor loss;                     // scalar, to minimise
  std::map<std::string, double> metrics;  // logged as they are, e.g. "bits_per_dim"
};

// A pretraining objective: it decides the attention mask and which positions the
// loss covers.
class WB_API Objective : public Plugin {
 public:
  ~Objective() override;
  // tokens int64 (N, S) -> how the model sees them. `gen` drives any randomness
  // (masks); it is the run's, so training is reproducible.
  virtual ForwardInput prepare(const torch::Tensor& tokens, torch::Generator& gen) const = 0;
  virtual LossOutput loss(const ForwardInput& input, const ForwardOutput& output) const = 0;
};

template <>
constexpr const char* kind_name<Objective>() {
  return "objective";
}

}  // namespace wb
