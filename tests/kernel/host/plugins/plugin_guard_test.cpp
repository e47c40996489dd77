// Errors from inside a plugin name the plugin and the call, never with LibTorch's C++
// frames; an objective's batch is checked against the run's palette.
#include <gtest/gtest.h>

#include <torch/nn/module.h>
#include <workbench/error.hpp>

#include "plugins/plugin_guard.hpp"

namespace {

// A model whose forward fails inside LibTorch (an index past a tensor's end).
struct FailingModel : wb::Model {
  using wb::Model::forward;
  void build(const wb::ModelSpec&) override {}
  wb::ForwardOutput forward(const wb::ForwardInput&, const wb::FeatureRequest&) override {
    torch::zeros({2}).index_select(0, torch::tensor({5}, torch::kLong));
    return {};
  }
  torch::nn::Module& module() override { return module_; }
  int64_t num_layers() const override { return 0; }
  int64_t width() const override { return 0; }
  torch::nn::Module module_;
};

// An objective that returns whatever batch the test sets.
struct FixedObjective : wb::Objective {
  wb::TrainingBatch prepare(const torch::Tensor&, torch::Generator&) const override {
    return batch;
  }
  wb::LossOutput loss(const wb::TrainingBatch&, const wb::ForwardOutput&) const override {
    return {};
  }
  wb::TrainingBatch batch;
};

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const wb::Error& e) {
    return e.what();
  }
  return "(no wb::Error)";
}

wb::TrainingBatch batch_of(const torch::Tensor& tokens) {
  wb::TrainingBatch b;
  b.input.tokens = tokens;
  b.targets = tokens;
  b.weights = torch::full(tokens.sizes(), 1.0f / float(tokens.numel()));
  return b;
}

}  // namespace

TEST(PluginGuard, ALibTorchErrorInsideAModelNamesItAndTheCallWithoutFrames) {
  auto model = wb::guard(std::make_shared<FailingModel>(), "fake");
  const std::string msg = message_of([&] { model->forward(wb::ForwardInput{}); });
  EXPECT_EQ(msg.rfind("model 'fake' in forward(): ", 0), 0u) << msg;
  EXPECT_NE(msg.find("index out of range"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("frame #"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("Exception raised from"), std::string::npos) << msg;
}

TEST(PluginGuard, AnObjectivesTokensOutsideThePaletteAreRefusedAtTheFirstBatch) {
  auto inner = std::make_shared<FixedObjective>();
  wb::DataFacts facts;
  facts.vocab_size = 16;
  auto objective = wb::guard(inner, "denoise", facts);
  auto gen = torch::make_generator<at::CPUGeneratorImpl>(0);
  const auto tokens = torch::zeros({2, 4}, torch::kLong);

  inner->batch = batch_of(torch::full({2, 4}, 20, torch::kLong));  // a palette of 32 assumed
  const std::string msg = message_of([&] { objective->prepare(tokens, gen); });
  EXPECT_EQ(msg.rfind("objective 'denoise' in prepare(): ", 0), 0u) << msg;
  EXPECT_NE(msg.find("token 20, outside the run's palette of 16 colours"), std::string::npos)
      << msg;
  EXPECT_NE(msg.find("data().vocab_size"), std::string::npos) << msg;

  inner->batch = batch_of(tokens);
  EXPECT_NO_THROW(objective->prepare(tokens, gen));
  inner->batch.targets = torch::Tensor();
  EXPECT_NE(message_of([&] { objective->prepare(tokens, gen); }).find("no targets"),
            std::string::npos);
  inner->batch = batch_of(tokens);
  inner->batch.weights = torch::ones({2, 3});
  EXPECT_NE(message_of([&] { objective->prepare(tokens, gen); }).find("weights of shape [2, 3]"),
            std::string::npos);
}

TEST(PluginGuard, UserMessagesOfLibTorchErrorsHaveNoFrames) {
  try {
    torch::zeros({2}).view({3});
    FAIL() << "view should have thrown";
  } catch (const std::exception& e) {
    const std::string msg = wb::user_message(e);
    EXPECT_FALSE(msg.empty());
    EXPECT_EQ(msg.find("frame #"), std::string::npos) << msg;
    EXPECT_EQ(msg.find("Exception raised from"), std::string::npos) << msg;
  }
}
