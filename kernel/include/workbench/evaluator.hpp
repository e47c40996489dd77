#pragma once
#include <map>
#include <string>

#include <torch/types.h>

#include <workbench/model.hpp>
#include <workbench/objective.hpp>
#include <workbench/plugin.hpp>

namespace wb {

struct TokenSplit {
  torch::Tensor tokens;  // int64 (N, S)
  torch::Tensor labels;  // int64 (N)
};

// What an evaluator gets: the pretrained model, its objective and the tokenised splits.
struct EvalInputs {
  Model* model = nullptr;
  const Objective* objective = nullptr;
  std::map<std::string, TokenSplit> splits;  // "train", "val", "test"
  int64_t num_classes = 0;
  std::string checkpoint_key;  // hash of the pretraining config: a cache key for features
};

// Judges a checkpoint's representations and writes result rows through
// PluginContext::results().
class WB_API Evaluator : public Plugin {
 public:
  ~Evaluator() override;
  virtual void evaluate(const EvalInputs& inputs) = 0;
};

template <>
constexpr const char* kind_name<Evaluator>() {
  return "evaluator";
}

}  // namespace wb
