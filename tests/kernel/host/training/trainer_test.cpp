#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>

#include <workbench/workbench.hpp>

#include "platform/interrupt.hpp"
#include "test_support.hpp"
#include "training/trainer.hpp"

namespace {

const std::string kToml = wbtest::minimal_experiment() + R"(
[training]
steps = 6
batch_size = 8
warmup_steps = 2
log_every = 1
val_every = 3
checkpoint_every = 3
)";

// Records losses; raises SIGINT once `stop_at` is logged, as Ctrl-C would.
struct Recorder : wb::ResultSink {
  std::map<int64_t, double> loss;
  int64_t stop_at = -1;
  void metric(int64_t step, const std::string& name, double value) override {
    if (name != "loss") return;
    loss[step] = value;
    if (step == stop_at) std::raise(SIGINT);
  }
  void result(const std::string&, int64_t, const std::string&, double) override {}
};

// Trains a fresh tiny model (same seed, same init) in `dir`; returns the losses.
std::map<int64_t, double> train(const std::string& dir, int64_t stop_at, bool* interrupted) {
  auto rc = wbtest::run_config(kToml);
  wbtest::HostFixture mhost(rc.at("model")), ohost(rc.at("objective"));
  auto model = wbtest::plugins().create<wb::Model>("igpt", *mhost.context);
  auto objective = wbtest::plugins().create<wb::Objective>("ar", *ohost.context);
  model->build({8, 16});
  auto gen = torch::make_generator<at::CPUGeneratorImpl>(5);
  auto data = torch::randint(0, 8, {40, 16}, gen, torch::kLong);
  Recorder rec;
  rec.stop_at = stop_at;
  wb::Trainer trainer(rc.at("training"), *model, *objective, rec, {torch::kCPU, 11, dir});
  *interrupted = false;
  try {
    trainer.run(data.slice(0, 0, 32), data.slice(0, 32));
  } catch (const wb::Interrupted&) {
    *interrupted = true;
  }
  return rec.loss;
}

}  // namespace

TEST(Trainer, WarmupThenCosineToZeroOrConstant) {
  EXPECT_DOUBLE_EQ(wb::learning_rate(1.0, 0, 4, 10), 0.25);
  EXPECT_DOUBLE_EQ(wb::learning_rate(1.0, 3, 4, 10), 1.0);
  EXPECT_DOUBLE_EQ(wb::learning_rate(1.0, 4, 4, 10), 1.0);
  EXPECT_NEAR(wb::learning_rate(1.0, 7, 4, 10), 0.5, 1e-12);
  EXPECT_NEAR(wb::learning_rate(1.0, 10, 4, 10), 0.0, 1e-12);
  // Constant after warm-up, whatever the run's length: runs of 10 and 100 steps agree.
  for (int64_t step : {0, 3, 4, 7, 9})
    EXPECT_DOUBLE_EQ(wb::learning_rate(1.0, step, 4, 10, false),
                     wb::learning_rate(1.0, step, 4, 100, false));
  EXPECT_DOUBLE_EQ(wb::learning_rate(1.0, 9, 4, 10, false), 1.0);
}

TEST(Trainer, ResumeAfterInterruptGivesTheSameLossesBitForBit) {
  wbtest::TempDir a, b;
  bool stopped = false;
  auto whole = train(a.path, -1, &stopped);
  ASSERT_FALSE(stopped);
  ASSERT_EQ(whole.size(), 6u);
  EXPECT_LT(whole[6], whole[1]);  // it learns

  wb::install_interrupt_handler();
  auto first = train(b.path, 2, &stopped);
  wb::clear_interrupt();
  ASSERT_TRUE(stopped);
  EXPECT_EQ(first.size(), 2u);
  ASSERT_TRUE(std::filesystem::exists(b / "last.pt"));
  auto rest = train(b.path, -1, &stopped);
  ASSERT_FALSE(stopped);
  for (int64_t step = 1; step <= 2; ++step) EXPECT_EQ(first[step], whole[step]) << step;
  for (int64_t step = 3; step <= 6; ++step) EXPECT_EQ(rest.at(step), whole[step]) << step;
  EXPECT_EQ(rest.count(1), 0u);  // resumed, not restarted
}

namespace {
// Every metric of a run, by name and step.
struct AllMetrics : wb::ResultSink {
  std::map<std::string, std::map<int64_t, double>> values;
  void metric(int64_t step, const std::string& name, double value) override {
    values[name][step] = value;
  }
  void result(const std::string&, int64_t, const std::string&, double) override {}
};

struct TinyTraining {
  explicit TinyTraining(const std::vector<std::string>& sets)
      : rc(wbtest::run_config(kToml, sets)), mhost(rc.at("model")), ohost(rc.at("objective")) {
    model = wbtest::plugins().create<wb::Model>("igpt", *mhost.context);
    objective = wbtest::plugins().create<wb::Objective>("ar", *ohost.context);
    model->build({8, 16});
    auto gen = torch::make_generator<at::CPUGeneratorImpl>(5);
    data = torch::randint(0, 8, {40, 16}, gen, torch::kLong);
  }
  wb::RunConfig rc;
  wbtest::HostFixture mhost, ohost;
  std::shared_ptr<wb::Model> model;
  std::shared_ptr<wb::Objective> objective;
  torch::Tensor data;
};
}  // namespace

TEST(Trainer, EarlyStoppingEndsTrainingWhenValidationStopsImproving) {
  // lr 0: the validation loss never changes, so it never improves after the first.
  TinyTraining s({"training.steps=20", "training.val_every=1", "training.lr=0",
                  "training.early_stop_patience=2"});
  wbtest::TempDir dir;
  AllMetrics m;
  wb::Trainer trainer(s.rc.at("training"), *s.model, *s.objective, m, {torch::kCPU, 3, dir.path});
  trainer.run(s.data.slice(0, 0, 32), s.data.slice(0, 32));
  EXPECT_EQ(m.values["val_loss"].size(), 3u);  // best at 1, no better at 2 and 3: stop
  EXPECT_EQ(m.values["early_stopped"].count(3), 1u);
  EXPECT_TRUE(std::filesystem::exists(dir / "best.pt"));
}

TEST(Trainer, TheBestCheckpointHoldsTheLowestValidationLoss) {
  // A learning rate rising to 1.0 over the whole run (all warm-up) makes the validation
  // loss go up and down; measured: lowest at step 2 (2.79), 5.48 at the end.
  TinyTraining s(
      {"training.steps=6", "training.val_every=1", "training.lr=1.0", "training.warmup_steps=6"});
  wbtest::TempDir dir;
  AllMetrics m;
  wb::Trainer trainer(s.rc.at("training"), *s.model, *s.objective, m, {torch::kCPU, 3, dir.path});
  const double last = trainer.run(s.data.slice(0, 0, 32), s.data.slice(0, 32));
  double lowest = INFINITY;
  for (const auto& [step, v] : m.values["val_loss"]) lowest = std::min(lowest, v);
  trainer.restore_best();
  EXPECT_DOUBLE_EQ(trainer.validate(s.data.slice(0, 32)).loss, lowest);
  EXPECT_GT(last, lowest) << "the run must end above its best for this test to show anything";
}

TEST(Trainer, WarmupInEpochsIsRoundedUpToWholeStepsAndReplacesSteps) {
  // 32 sequences, batch 8: 4 steps per epoch.
  TinyTraining s(
      {"training.batch_size=8", "training.warmup_steps=100", "training.warmup_epochs=1.1"});
  wbtest::TempDir dir;
  AllMetrics m;
  wb::Trainer trainer(s.rc.at("training"), *s.model, *s.objective, m, {torch::kCPU, 3, dir.path});
  EXPECT_EQ(trainer.warmup_steps(32), 5);  // ceil(1.1 * 4)
  TinyTraining steps_only({"training.warmup_steps=7"});
  wb::Trainer by_steps(steps_only.rc.at("training"), *steps_only.model, *steps_only.objective, m,
                       {torch::kCPU, 3, dir.path});
  EXPECT_EQ(by_steps.warmup_steps(32), 7);
}

TEST(Trainer, BitsPerDimensionAreBitsPerTokenOverTheChannelsOfAPixel) {
  TinyTraining s({"training.steps=2", "training.log_every=1", "training.val_every=1"});
  wbtest::TempDir dir;
  AllMetrics m;
  wb::Trainer trainer(s.rc.at("training"), *s.model, *s.objective, m,
                      {torch::kCPU, 3, dir.path, /*dims_per_token=*/3});
  trainer.run(s.data.slice(0, 0, 32), s.data.slice(0, 32));
  for (int64_t step : {1, 2}) {
    EXPECT_NEAR(m.values["bits_per_dim"][step], m.values["bits_per_token"][step] / 3, 1e-12);
    EXPECT_NEAR(m.values["val_bits_per_dim"][step], m.values["val_bits_per_token"][step] / 3,
                1e-12);
  }
  // The output head starts at zero: the first step's loss is log2(8) = 3 bits per token.
  EXPECT_NEAR(m.values["bits_per_token"][1], 3.0, 1e-5);
}

TEST(Trainer, BfloatPrecisionOnTheCpuFollowsTheFloat32Run) {
  // training.precision = "bfloat16" puts the CPU's forward passes under autocast: the
  // same run, losses within bfloat16's rounding of the float32 ones but not equal to
  // them (the products did run in bfloat16), and it learns as well.
  auto losses = [](const std::string& precision) {
    TinyTraining s({"training.steps=6", "training.log_every=1",
                    fmt::format("training.precision=\"{}\"", precision)});
    wbtest::TempDir dir;
    AllMetrics m;
    wb::Trainer trainer(s.rc.at("training"), *s.model, *s.objective, m, {torch::kCPU, 3, dir.path});
    trainer.run(s.data.slice(0, 0, 32), s.data.slice(0, 32));
    return m.values["loss"];
  };
  auto f32 = losses("float32"), bf16 = losses("bfloat16"), automatic = losses("auto");
  ASSERT_EQ(f32.size(), 6u);
  ASSERT_EQ(bf16.size(), 6u);
  // "auto": bfloat16 on CPUs that multiply it natively, float32 elsewhere.
  EXPECT_EQ(automatic, wb::has_native_bfloat16(torch::kCPU) ? bf16 : f32);
  bool differs = false;
  for (int64_t step = 1; step <= 6; ++step) {
    EXPECT_NEAR(bf16[step], f32[step], 0.02 * f32[step]) << step;
    differs |= bf16[step] != f32[step];
  }
  EXPECT_TRUE(differs);
  EXPECT_LT(bf16[6], bf16[1]);
}

// training.cuda_graph: on a GPU the steps after the first two replay one captured graph
// and give the eager steps' losses (float32, clipping on, so the device-side norm
// counts); on the CPU the key changes nothing.
std::map<int64_t, double> tiny_losses(torch::Device device, bool graph, bool* replayed) {
  TinyTraining s({"training.steps=8", "training.log_every=1", "training.grad_clip=0.5",
                  "training.precision=\"float32\"",
                  fmt::format("training.cuda_graph={}", graph ? "true" : "false")});
  s.model->module().to(device);
  wbtest::TempDir dir;
  AllMetrics m;
  wb::Trainer trainer(s.rc.at("training"), *s.model, *s.objective, m, {device, 3, dir.path});
  trainer.run(s.data.slice(0, 0, 32), s.data.slice(0, 32));
  *replayed = trainer.replays_graph();
  return m.values["loss"];
}

TEST(Trainer, OnTheCpuTheCudaGraphKeyChangesNothing) {
  bool replayed = true, plain_replayed = true;
  auto with = tiny_losses(torch::kCPU, true, &replayed);
  auto without = tiny_losses(torch::kCPU, false, &plain_replayed);
  EXPECT_FALSE(replayed);
  ASSERT_EQ(with.size(), 8u);
  EXPECT_EQ(with, without);
}

TEST(Trainer, OnAGpuTheCudaGraphStepGivesTheEagerLosses) {
  if (!torch::cuda::is_available())
    GTEST_SKIP() << "no CUDA device here: the CUDA graph is checked by tools/gpu/check.sh";
  bool replayed = false, plain_replayed = true;
  auto graphed = tiny_losses(torch::kCUDA, true, &replayed);
  auto eager = tiny_losses(torch::kCUDA, false, &plain_replayed);
  EXPECT_TRUE(replayed) << "the step was not captured (see the warning above)";
  EXPECT_FALSE(plain_replayed);
  ASSERT_EQ(graphed.size(), 8u);
  ASSERT_EQ(eager.size(), 8u);
  for (int64_t step = 1; step <= 8; ++step)
    EXPECT_NEAR(graphed[step], eager[step], 1e-4 * eager[step]) << step;
  EXPECT_LT(graphed[8], graphed[1]);  // and it learns: the updates were applied
}
