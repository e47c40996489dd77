#pragma once
#include <functional>
#include <map>
#include <memory>
#include <string>

#include <torch/types.h>

#include <workbench/dataset.hpp>
#include <workbench/error.hpp>
#include <workbench/features.hpp>
#include <workbench/model.hpp>
#include <workbench/objective.hpp>
#include <workbench/optimiser.hpp>
#include <workbench/plugin.hpp>
#include <workbench/quantizer.hpp>

namespace wb {

struct TokenSplit {
  torch::Tensor tokens;  // int64 (N, S)
  torch::Tensor labels;  // int64 (N)
};

// What an evaluator gets: the pretrained model, its objective and the tokenised splits.
struct EvalInputs {
  // The pretrained model, shared by the run's evaluators: read it, never change it.
  Model* model = nullptr;
  // A new instance of the run's model holding the pretrained weights, the caller's own:
  // for an evaluator that changes weights (fine-tuning), so that no evaluator sees
  // another's. Empty when the host gives none.
  std::function<std::shared_ptr<Model>()> model_copy;
  const Objective* objective = nullptr;
  std::map<std::string, TokenSplit> splits;  // "train", "val", "test"
  int64_t num_classes = 0;
  std::string checkpoint_key;  // hash of what made the checkpoint (config, plugins' code)
  // checkpoint_key with this evaluator's code: the key to cache what it alone computes
  // from the checkpoint under, so a rebuilt evaluator never reuses its old output.
  std::string cache_key;
  // The run's pooled features of every layer and split, shared by all its evaluators
  // (computed once per key, whichever asks first), and its mask draw.
  FeatureService* features = nullptr;
  // *features, or an error saying the host gave none.
  FeatureService& feature_service() const {
    if (!features) throw Error("the host gave the evaluator no feature service");
    return *features;
  }
  // training.precision on the run's device: run forward passes inside a
  // wb::BfloatAutocast(device, bfloat16) scope, as pretraining did (an Optimiser's
  // step opens it around the loss itself).
  bool bfloat16 = false;
  // The host's optimisation step over the given tensors (optimiser.hpp): for an
  // evaluator that trains (fine-tuning), so that it steps, schedules, casts and resumes
  // as pretraining does. Its saved state is this evaluation's: kept until it finishes.
  OptimiserFactory optimiser;
  // optimiser(params, spec), or an error saying the host gave none.
  std::unique_ptr<Optimiser> make_optimiser(std::vector<torch::Tensor> params,
                                            OptimiserSpec spec) const {
    if (!optimiser) throw Error("the host gave the evaluator no optimiser");
    return optimiser(std::move(params), spec);
  }
  // The run's fitted palette: encodes images an evaluator changed (augmentation),
  // decodes tokens back to colours.
  const Quantizer* quantizer = nullptr;
  // A split's images at the run's resolution, before quantization, read from the
  // dataset when called (not cached): for evaluators that augment before encoding,
  // as fine-tuning does with wb::pad_crop_flip. Same images, same order as `splits`.
  std::function<ImageSplit(const std::string& split)> images;
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
