#pragma once
// The host's feature service (workbench/features.hpp): one per run's evaluation, shared
// by all its evaluators. Each grid's features are kept under their own key in the
// artifact cache and, once made or read, in memory for the next evaluator.
#include <functional>
#include <map>
#include <string>

#include <workbench/evaluator.hpp>
#include <workbench/features.hpp>

namespace wb {

class FeatureCache : public FeatureService {
 public:
  // `forget(key)`: called once per key before its first use (--recompute deletes the
  // cached file there); may be empty.
  FeatureCache(Model& model, const Objective& objective,
               const std::map<std::string, TokenSplit>& splits, std::string checkpoint_key,
               torch::Device device, bool bfloat16, ArtifactCache& artifacts,
               std::function<void(const std::string& key)> forget = {});

  SplitFeatures pooled(int64_t grid, int64_t batch_size) override;
  LayerFeatures pass(const torch::Tensor& tokens, torch::Generator& gen, int64_t batch_size,
                     Progress& progress, int64_t grid = 1) override;
  torch::Generator mask_generator(const std::string& split) const override;

  // The artifact key of a grid's features: the checkpoint's key, the grid, the
  // precision and the version of the mask draw.
  std::string key(int64_t grid) const;
  // Passes of the model over a whole split that pooled() made (not read): what the
  // log says and the tests count.
  int64_t split_passes() const { return split_passes_; }

 private:
  Model& model_;
  const Objective& objective_;
  const std::map<std::string, TokenSplit>& splits_;
  std::string checkpoint_key_;
  torch::Device device_;
  bool bfloat16_;
  ArtifactCache& artifacts_;
  std::function<void(const std::string&)> forget_;
  std::map<int64_t, SplitFeatures> memo_;  // grid -> features, this run's
  int64_t split_passes_ = 0;
};

}  // namespace wb
