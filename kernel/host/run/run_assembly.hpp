#pragma once
// One run's parts, assembled the one way that every user of a run shares: `workbench
// run` (runner.cpp), `workbench sample` (sampler.cpp) and the benchmarks (bench/).
// Each part is made on first use, in this order:
//   quantizer()             the quantizer plugin (its palette fitted or read with the tokens)
//   tokens()                the token arrays, made or read from the artifact cache
//   facts()                 what the data are (palette, channels, side, context, classes):
//                           from the tokens, or given by set_facts() (random tokens)
//   model(), objective()    made for those facts; the model built and on the device; both
//                           guarded, so an error from inside names the plugin and the call
//   checkpoint_key()        the key of what is made from the tokens: the configuration's
//                           pretraining hash and the tokens' content (an edited data file
//                           makes other tokens, hence another checkpoint and features)
//   final_checkpoint()      where this configuration's pretrained weights are kept
// Every plugin gets a context with the run's seed and device, the artifact cache and,
// when a store is given, a result sink that records under its name.
#include <memory>
#include <optional>
#include <string>

#include <torch/types.h>
#include <workbench/workbench.hpp>

#include "experiment/experiment.hpp"
#include "plugins/plugin_registry.hpp"
#include "run/run_context.hpp"
#include "run/tokens.hpp"

namespace wb {

// `to`'s parameters and buffers set to `from`'s of the same names (the same model
// built twice): model_copy's weights, and the evaluator tests' copy of it.
void copy_weights(const torch::nn::Module& from, torch::nn::Module& to);

class Store;

// A plugin's context and the result sink behind it, kept together so the sink lives as
// long as the context.
struct PluginServices {
  PluginServices(const Section& section, uint64_t seed, torch::Device device,
                 ArtifactCache* artifacts, Store* store, int64_t run, const std::string& hash,
                 const std::string& metric_prefix = "", const DataFacts* facts = nullptr);
  PluginServices(const PluginServices&) = delete;
  std::unique_ptr<ResultSink> sink;  // the store's, or one that discards without a store
  HostContext context;
};

class RunAssembly {
 public:
  // `store` and `run_id` record what the plugins report; without a store it is
  // discarded (sampling, benchmarks).
  RunAssembly(const RunConfig& rc, const PluginRegistry& registry, torch::Device device,
              StoreArtifacts& artifacts, Store* store = nullptr, int64_t run_id = 0);

  const RunConfig& config() const { return rc_; }
  uint64_t seed() const { return seed_; }
  torch::Device device() const { return device_; }
  // training.precision on this device: whether passes run under bfloat16 autocast.
  bool bfloat16() const;
  StoreArtifacts& artifacts() { return artifacts_; }

  Quantizer& quantizer();
  TokenData& tokens();
  const DataFacts& facts();
  void set_facts(const DataFacts& facts) { facts_ = facts; }
  Model& model();
  // Another instance of the model plugin, built for the same data, on the device, with
  // model()'s weights copied in: an evaluator's own to change (EvalInputs::model_copy).
  std::shared_ptr<Model> model_copy();
  Objective& objective();
  // The dataset's context: the evaluators' images come from a dataset made in it.
  HostContext& dataset_context() { return dataset_.context; }

  std::string checkpoint_key();
  std::string checkpoint_dir() { return artifacts_.path("checkpoints", checkpoint_key()); }
  std::string final_checkpoint();

  // The services of another plugin section (an evaluator), made for the data facts.
  std::unique_ptr<PluginServices> services(const Section& section, const std::string& hash,
                                           const std::string& metric_prefix = "");

 private:
  const RunConfig& rc_;
  const PluginRegistry& registry_;
  torch::Device device_;
  uint64_t seed_;
  StoreArtifacts& artifacts_;
  Store* store_;
  int64_t run_id_;
  PluginServices dataset_, quantizer_host_;
  std::shared_ptr<Quantizer> quantizer_;
  std::optional<TokenData> tokens_;
  std::optional<DataFacts> facts_;
  std::unique_ptr<PluginServices> model_host_, objective_host_;
  std::shared_ptr<Model> model_;
  std::shared_ptr<Objective> objective_;
};

}  // namespace wb
