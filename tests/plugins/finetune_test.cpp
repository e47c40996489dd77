// The finetune evaluator on data whose answer is known: sequences of class 0 use tokens
// 0-3, class 1 tokens 4-7, so a fine-tuned head reaches ~100%. It writes its rows and
// curve, and puts the pretrained weights back for the evaluators after it.
#include <gtest/gtest.h>

#include <workbench/workbench.hpp>

#include "test_support.hpp"

namespace {

// n sequences of 16 tokens, labels alternating; class c draws from [4c, 4c + 4).
wb::TokenSplit separable(int64_t n, uint64_t seed) {
  auto gen = torch::make_generator<at::CPUGeneratorImpl>(seed);
  auto labels = torch::arange(n, torch::kLong) % 2;
  auto tokens = torch::randint(0, 4, {n, 16}, gen, torch::kLong) + 4 * labels.unsqueeze(1);
  return {tokens, labels};
}

struct FinetuneFixture {
  explicit FinetuneFixture(const std::vector<std::string>& sets)
      : rc(wbtest::run_config(
            wbtest::minimal_experiment() + "[[evaluators]]\nplugin = \"finetune\"\n", sets)),
        mhost(rc.at("model")),
        ohost(rc.at("objective")),
        ehost(rc.evaluators.at(0)) {
    model = wbtest::plugins().create<wb::Model>("igpt", *mhost.context);
    objective = wbtest::plugins().create<wb::Objective>("ar", *ohost.context);
    model->build({8, 16});
    in.model = model.get();
    in.objective = objective.get();
    in.num_classes = 2;
    in.splits = {
        {"train", separable(64, 1)}, {"val", separable(32, 2)}, {"test", separable(32, 3)}};
  }
  std::map<std::string, double> rows() {
    std::map<std::string, double> out;
    ehost.store->query("SELECT metric, split, value FROM results", {},
                       [&](auto&, const auto& v) { out[v[0] + "/" + v[1]] = std::stod(v[2]); });
    return out;
  }
  wb::RunConfig rc;
  wbtest::HostFixture mhost, ohost, ehost;
  std::shared_ptr<wb::Model> model;
  std::shared_ptr<wb::Objective> objective;
  wb::EvalInputs in;
};

}  // namespace

TEST(Finetune, LearnsSeparableClassesAndRestoresThePretrainedWeights) {
  FinetuneFixture f({"evaluators.0.epochs=6", "evaluators.0.lr=0.01", "evaluators.0.batch_size=16",
                     "evaluators.0.loss=\"classification\"", "evaluators.0.patience=0"});
  std::vector<torch::Tensor> before;
  for (const auto& p : f.model->module().parameters()) before.push_back(p.detach().clone());
  auto evaluator = wbtest::plugins().create<wb::Evaluator>("finetune", *f.ehost.context);
  evaluator->evaluate(f.in);
  auto rows = f.rows();
  EXPECT_GE(rows.at("accuracy/test"), 0.95);
  EXPECT_GE(rows.at("accuracy/val"), 0.95);
  EXPECT_EQ(rows.at("epochs/train"), 6);
  auto after = f.model->module().parameters();
  for (size_t i = 0; i < before.size(); ++i) EXPECT_TRUE(torch::equal(before[i], after[i]));
}

TEST(Finetune, JointLossAtAnEarlierLayerAlsoLearnsAndRecordsItsCurve) {
  FinetuneFixture f({"evaluators.0.epochs=4", "evaluators.0.lr=0.01", "evaluators.0.batch_size=16",
                     "evaluators.0.layer=1"});
  auto evaluator = wbtest::plugins().create<wb::Evaluator>("finetune", *f.ehost.context);
  evaluator->evaluate(f.in);
  EXPECT_GE(f.rows().at("accuracy/test"), 0.9);
  int64_t curve = 0;
  f.ehost.store->query("SELECT COUNT(*) FROM metrics WHERE name LIKE '%val_accuracy'", {},
                       [&](auto&, const auto& v) { curve = std::stoll(v[0]); });
  EXPECT_GE(curve, 1);
}

TEST(Finetune, RefusesALayerTheModelDoesNotHave) {
  FinetuneFixture f({"evaluators.0.layer=9"});
  auto evaluator = wbtest::plugins().create<wb::Evaluator>("finetune", *f.ehost.context);
  EXPECT_THROW(evaluator->evaluate(f.in), wb::Error);
}
