// The finetune evaluator on data whose answer is known (evaluator_fixture.hpp): a
// fine-tuned head reaches ~100%. It writes its rows and curve, and puts the pretrained
// weights back for the evaluators after it.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include <workbench/workbench.hpp>

#include "../evaluator_fixture.hpp"

using wbtest::EvalFixture;

// It learns on a copy of the model of its own: the shared, pretrained one is never
// touched (no evaluator sees another's weights).
TEST(Finetune, LearnsSeparableClassesOnItsOwnCopyOfTheModel) {
  EvalFixture f("ar", "finetune",
                {"evaluators.0.epochs=6", "evaluators.0.lr=0.01", "evaluators.0.batch_size=16",
                 "evaluators.0.loss=\"classification\"", "evaluators.0.patience=0"});
  std::vector<torch::Tensor> before;
  for (const auto& p : f.model->module().parameters()) before.push_back(p.detach().clone());
  f.evaluator->evaluate(f.in);
  auto rows = f.rows();
  EXPECT_GE(rows.at("accuracy/2/test"), 0.95);
  EXPECT_GE(rows.at("accuracy/2/val"), 0.95);
  EXPECT_EQ(rows.at("epochs/2/train"), 6);
  auto after = f.model->module().parameters();
  for (size_t i = 0; i < before.size(); ++i) EXPECT_TRUE(torch::equal(before[i], after[i]));
  EXPECT_EQ(f.copies, 1);
}

TEST(Finetune, JointLossAtAnEarlierLayerAlsoLearnsAndRecordsItsCurve) {
  EvalFixture f("ar", "finetune",
                {"evaluators.0.epochs=4", "evaluators.0.lr=0.01", "evaluators.0.batch_size=16",
                 "evaluators.0.layer=1"});
  f.evaluator->evaluate(f.in);
  EXPECT_GE(f.rows().at("accuracy/1/test"), 0.9);
  int64_t curve = 0;
  f.ehost.store->query("SELECT COUNT(*) FROM metrics WHERE name = 'finetune/val_accuracy'", {},
                       [&](auto&, const auto& v) { curve = std::stoll(v[0]); });
  EXPECT_GE(curve, 1);
}

// The rate each epoch ended at, from the run's curve.
std::vector<double> epoch_rates(EvalFixture& f) {
  std::vector<double> lr;
  f.ehost.store->query("SELECT value FROM metrics WHERE name = 'finetune/lr' ORDER BY step", {},
                       [&](auto&, const auto& v) { lr.push_back(std::stod(v[0])); });
  return lr;
}

TEST(Finetune, ACosineScheduleWarmsUpThenDecaysTheRateToZeroOverAllEpochsAndStillLearns) {
  const std::vector<std::string> sets = {"evaluators.0.epochs=4", "evaluators.0.lr=0.01",
                                         "evaluators.0.batch_size=16", "evaluators.0.patience=0"};
  EvalFixture constant("ar", "finetune", sets);
  constant.evaluator->evaluate(constant.in);
  EXPECT_EQ(epoch_rates(constant), std::vector<double>(4, 0.01));

  EvalFixture warm("ar", "finetune", EvalFixture::with(sets, "evaluators.0.warmup_steps=8"));
  warm.evaluator->evaluate(warm.in);
  // 64 images in batches of 16: 4 steps an epoch; epoch 1 ends at step 3 of the 8 warm-up
  EXPECT_EQ(epoch_rates(warm), (std::vector<double>{0.005, 0.01, 0.01, 0.01}));

  EvalFixture cosine("ar", "finetune", EvalFixture::with(sets, "evaluators.0.schedule=\"cosine\""));
  cosine.evaluator->evaluate(cosine.in);
  auto lr = epoch_rates(cosine);
  ASSERT_EQ(lr.size(), 4u);
  for (size_t i = 0; i < lr.size(); ++i)  // the rate of each epoch's last step, 4i + 3, of 16
    EXPECT_NEAR(lr[i], 0.01 * 0.5 * (1 + std::cos(M_PI * double(4 * i + 3) / 16)), 1e-12);
  EXPECT_LT(lr[3], 1e-4);  // near 0 at the last step
  EXPECT_GE(cosine.rows().at("accuracy/2/test"), 0.9);
}

// epoch -> val accuracy, from the run's curve.
std::map<int64_t, double> val_curve(EvalFixture& f) {
  std::map<int64_t, double> curve;
  f.ehost.store->query("SELECT step, value FROM metrics WHERE name = 'finetune/val_accuracy'", {},
                       [&](auto&, const auto& v) { curve[std::stoll(v[0])] = std::stod(v[1]); });
  return curve;
}

TEST(Finetune, AHeadStartedFromTheProbeScoresAsTheProbeBeforeAnyStep) {
  // lr = 0: the weights never move, so the test score is the starting head's.
  const std::vector<std::string> sets = {"evaluators.0.epochs=1", "evaluators.0.lr=0",
                                         "evaluators.0.batch_size=16"};
  EvalFixture zeros("ar", "finetune", sets);
  zeros.evaluator->evaluate(zeros.in);
  EXPECT_EQ(zeros.rows().at("accuracy/2/test"), 0.5);  // all logits 0: class 0 every time
  EXPECT_EQ(val_curve(zeros).count(0), 0u);            // no epoch 0 without a head to score

  // In bfloat16 too: the head, its standardisation folded in, runs in float32.
  for (const bool bfloat16 : {false, true}) {
    EvalFixture probe("ar", "finetune",
                      EvalFixture::with(sets, "evaluators.0.head_init=\"probe\""));
    probe.use_checkpoint("fixture", bfloat16);
    probe.evaluator->evaluate(probe.in);
    EXPECT_GE(probe.rows().at("accuracy/2/test"), 0.95) << "bfloat16 " << bfloat16;
    auto curve = val_curve(probe);  // epoch 0 is the start, scored as the epochs are
    ASSERT_EQ(curve.size(), 2u) << "bfloat16 " << bfloat16;
    EXPECT_GE(curve.at(0), 0.95) << "bfloat16 " << bfloat16;
    EXPECT_EQ(curve.at(1), curve.at(0)) << "bfloat16 " << bfloat16;
  }
}

TEST(Finetune, ABfloatRunFineTunesInBfloat16AndStillLearns) {
  EvalFixture f("ar", "finetune",
                {"evaluators.0.epochs=4", "evaluators.0.lr=0.01", "evaluators.0.batch_size=16"});
  f.use_checkpoint("fixture", /*bfloat16=*/true);  // the model in it, the head float32
  f.evaluator->evaluate(f.in);
  EXPECT_GE(f.rows().at("accuracy/2/test"), 0.9);
}

TEST(Finetune, RefusesALayerTheModelDoesNotHave) {
  EvalFixture f("ar", "finetune", {"evaluators.0.layer=9"});
  EXPECT_THROW(f.evaluator->evaluate(f.in), wb::Error);
}

namespace {
// The evaluator's services, but the user asks the run to stop once it has checked
// `stop_after` times (finetune checks after every step), as Ctrl-C would.
struct StoppingContext : wb::PluginContext {
  StoppingContext(wb::PluginContext& inner, int stop_after) : in(inner), left(stop_after) {}
  const wb::Section& config() const override { return in.config(); }
  void log(wb::LogLevel level, const std::string& message) const override {
    in.log(level, message);
  }
  std::unique_ptr<wb::Progress> progress(const std::string& label, int64_t total) const override {
    return in.progress(label, total);
  }
  uint64_t seed(const std::string& stream) const override { return in.seed(stream); }
  const wb::DataFacts& data() const override { return in.data(); }
  torch::Device device() const override { return in.device(); }
  wb::ArtifactCache& artifacts() const override { return in.artifacts(); }
  wb::ResultSink& results() const override { return in.results(); }
  bool stop_requested() const override {
    ++checks;
    return --left < 0;
  }
  void depends_on(const std::string& path) const override { in.depends_on(path); }
  wb::PluginContext& in;
  mutable int left;
  mutable int checks = 0;
};

// metric -> step -> value: the run's curves.
std::map<std::string, std::map<int64_t, double>> curves(EvalFixture& f) {
  std::map<std::string, std::map<int64_t, double>> out;
  f.ehost.store->query("SELECT name, step, value FROM metrics", {}, [&](auto&, const auto& v) {
    out[v[0]][std::stoll(v[1])] = std::stod(v[2]);
  });
  return out;
}
}  // namespace

// Stopped mid-epoch, then at an epoch's end, and run again each time: it resumes from
// its saved progress (weights, head, Adam, masks, order, curve) and ends bit for bit
// where an uninterrupted fine-tuning ends.
TEST(Finetune, StoppedAndRunAgainItResumesAndEndsAsAnUninterruptedOneBitForBit) {
  const std::vector<std::string> sets = {"evaluators.0.epochs=3", "evaluators.0.lr=0.01",
                                         "evaluators.0.batch_size=16", "evaluators.0.patience=0",
                                         "evaluators.0.schedule=\"cosine\""};
  EvalFixture whole("bert", "finetune", sets);  // joint loss: masks drawn at every step
  whole.evaluator->evaluate(whole.in);
  ASSERT_EQ(whole.rows().count("accuracy/2/test"), 1u);

  EvalFixture parts("bert", "finetune", sets);
  // 64 images in batches of 16: 4 steps an epoch. Stopped after step 7 (epoch 2's third),
  // then after step 8 (epoch 2's last), then run to the end: 12 steps in all, none
  // taken twice.
  int steps = 0;
  for (const int stop_after : {6, 0, 1000}) {
    parts.use_checkpoint("fixture");  // the host's services of a run of the evaluation
    StoppingContext stopping(*parts.ehost.context, stop_after);
    auto evaluator = wbtest::plugins().create<wb::Evaluator>("finetune", stopping);
    evaluator->evaluate(parts.in);
    steps += stopping.checks;
    EXPECT_EQ(parts.rows().count("accuracy/2/test"), stop_after == 1000 ? 1u : 0u);
  }
  EXPECT_EQ(steps, 12);
  EXPECT_EQ(parts.rows(), whole.rows());
  EXPECT_EQ(curves(parts), curves(whole));
  EXPECT_EQ(curves(whole).at("finetune/val_accuracy").size(), 3u);
}
