#pragma once
// A tiny untrained igpt with an objective and one evaluator, on token data whose answer
// is known: sequences of class 0 use tokens 0-3, class 1 tokens 4-7. For the
// evaluator tests (finetune, mask_ensemble).
#include <map>
#include <string>
#include <vector>

#include <workbench/workbench.hpp>

#include "run/evaluator_state.hpp"
#include "run/feature_cache.hpp"
#include "run/run_assembly.hpp"
#include "test_support.hpp"

namespace wbtest {

// n sequences of 16 tokens, labels alternating; class c draws from [4c, 4c + 4).
inline wb::TokenSplit separable(int64_t n, uint64_t seed) {
  auto gen = torch::make_generator<at::CPUGeneratorImpl>(seed);
  auto labels = torch::arange(n, torch::kLong) % 2;
  auto tokens = torch::randint(0, 4, {n, 16}, gen, torch::kLong) + 4 * labels.unsqueeze(1);
  return {tokens, labels};
}

// The model built for vocabulary 8 and 16 tokens; the evaluator of `plugin` configured by
// `sets` (overrides of evaluators.0); rows() reads what it wrote.
struct EvalFixture {
  EvalFixture(const std::string& objective, const std::string& plugin,
              std::vector<std::string> sets)
      : rc(wbtest::run_config(
            wbtest::minimal_experiment() + "[[evaluators]]\nplugin = \"" + plugin + "\"\n",
            with(sets, "objective.plugin=" + objective))),
        mhost(rc.at("model")),
        ohost(rc.at("objective")),
        ehost(rc.evaluators.at(0)) {
    model = wbtest::plugins().create<wb::Model>("igpt", *mhost.context);
    obj = wbtest::plugins().create<wb::Objective>(objective, *ohost.context);
    model->build({8, 16});
    in.model = model.get();
    in.objective = obj.get();
    in.num_classes = 2;
    in.splits = {
        {"train", separable(64, 1)}, {"val", separable(32, 2)}, {"test", separable(32, 3)}};
    evaluator = wbtest::plugins().create<wb::Evaluator>(plugin, *ehost.context);
    // The evaluator's own model, as the host gives it (RunAssembly::model_copy).
    in.model_copy = [this] {
      auto copy = wbtest::plugins().create<wb::Model>("igpt", *mhost.context);
      copy->build({8, 16});
      wb::copy_weights(model->module(), copy->module());
      ++copies;
      return copy;
    };
    use_checkpoint("fixture");
  }
  // The run's feature service and the evaluation's optimisers as the host makes them,
  // for a checkpoint of key `key` (in the evaluator's artifact folder) trained in
  // bfloat16 or not, and the inputs to match.
  void use_checkpoint(const std::string& key, bool bfloat16 = false) {
    in.checkpoint_key = in.cache_key = key;
    in.bfloat16 = bfloat16;
    features = std::make_unique<wb::FeatureCache>(*model, *obj, in.splits, key, torch::kCPU,
                                                  in.bfloat16, *ehost.artifacts);
    in.features = features.get();
    state = std::make_unique<wb::EvaluatorState>(*ehost.artifacts, "evaluation-" + key, torch::kCPU,
                                                 in.bfloat16);
    in.optimiser = state->factory();
  }
  static std::vector<std::string> with(std::vector<std::string> v, const std::string& s) {
    v.push_back(s);
    return v;
  }
  // "metric/layer/split" -> value
  std::map<std::string, double> rows() {
    std::map<std::string, double> out;
    ehost.store->query(
        "SELECT metric, layer, split, value FROM results", {},
        [&](auto&, const auto& v) { out[v[0] + "/" + v[1] + "/" + v[2]] = std::stod(v[3]); });
    return out;
  }
  wb::RunConfig rc;
  wbtest::HostFixture mhost, ohost, ehost;
  std::shared_ptr<wb::Model> model;
  std::shared_ptr<wb::Objective> obj;
  std::shared_ptr<wb::Evaluator> evaluator;
  wb::EvalInputs in;
  std::unique_ptr<wb::FeatureCache> features;
  std::unique_ptr<wb::EvaluatorState> state;
  int copies = 0;  // model copies the evaluator asked for
};

}  // namespace wbtest
