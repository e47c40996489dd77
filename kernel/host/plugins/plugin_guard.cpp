#include "plugins/plugin_guard.hpp"

#include <c10/util/Exception.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <workbench/error.hpp>

#include "platform/log.hpp"

namespace wb {

std::string user_message(const std::exception& e) {
  if (const auto* c10 = dynamic_cast<const c10::Error*>(&e)) {
    log_message(LogLevel::Debug, c10->what());  // with its frames
  }
  return message_of(e);
}

std::string current_exception_message() {
  try {
    throw;
  } catch (const std::exception& e) {
    return user_message(e);
  } catch (...) {
    return "an exception that is not a std::exception";
  }
}

void rethrow_from_plugin(const std::string& who, const char* call) {
  throw Error(fmt::format("{} in {}: {}", who, call, current_exception_message()));
}

namespace {

class GuardedModel : public Model {
 public:
  GuardedModel(std::shared_ptr<Model> m, std::string who)
      : m_(std::move(m)), who_(std::move(who)) {}
  using Model::forward;
  void build(const ModelSpec& spec) override {
    guarded(who_, "build()", [&] { m_->build(spec); });
  }
  ForwardOutput forward(const ForwardInput& in, const FeatureRequest& want) override {
    return guarded(who_, "forward()", [&] { return m_->forward(in, want); });
  }
  torch::nn::Module& module() override { return m_->module(); }
  int64_t num_layers() const override { return m_->num_layers(); }
  int64_t width() const override { return m_->width(); }
  std::unique_ptr<DecodeState> start_decoding(int64_t batch) override {
    return guarded(who_, "start_decoding()", [&] { return m_->start_decoding(batch); });
  }
  torch::Tensor decode_step(DecodeState& state, const torch::Tensor& previous) override {
    return guarded(who_, "decode_step()", [&] { return m_->decode_step(state, previous); });
  }

 private:
  std::shared_ptr<Model> m_;
  std::string who_;
};

class GuardedObjective : public Objective {
 public:
  GuardedObjective(std::shared_ptr<Objective> o, std::string who, int64_t vocab)
      : o_(std::move(o)), who_(std::move(who)), vocab_(vocab) {}
  TrainingBatch prepare(const torch::Tensor& tokens, torch::Generator& gen) const override {
    auto batch = guarded(who_, "prepare()", [&] { return o_->prepare(tokens, gen); });
    const std::string problem = batch_problem(batch, tokens, vocab_, !values_checked_);
    if (!problem.empty()) throw Error(fmt::format("{} in prepare(): {}", who_, problem));
    values_checked_ = true;
    return batch;
  }
  LossOutput loss(const TrainingBatch& batch, const ForwardOutput& output) const override {
    return guarded(who_, "loss()", [&] { return o_->loss(batch, output); });
  }

 private:
  std::shared_ptr<Objective> o_;
  std::string who_;
  int64_t vocab_;
  mutable bool values_checked_ = false;
};

}  // namespace

std::shared_ptr<Model> guard(std::shared_ptr<Model> model, const std::string& name) {
  return std::make_shared<GuardedModel>(std::move(model), fmt::format("model '{}'", name));
}

std::shared_ptr<Objective> guard(std::shared_ptr<Objective> objective, const std::string& name,
                                 const DataFacts& data) {
  return std::make_shared<GuardedObjective>(std::move(objective),
                                            fmt::format("objective '{}'", name), data.vocab_size);
}

std::string batch_problem(const TrainingBatch& batch, const torch::Tensor& tokens,
                          int64_t vocab_size, bool check_values) {
  const auto& in = batch.input.tokens;
  if (!in.defined()) return "the batch has no input tokens (batch.input.tokens)";
  if (in.dim() != 2 || in.size(0) != tokens.size(0))
    return fmt::format("input tokens of shape {} for {} images: want (N, S)", in.sizes(),
                       tokens.size(0));
  if (!batch.targets.defined()) return "the batch has no targets (batch.targets)";
  if (batch.targets.sizes() != in.sizes())
    return fmt::format("targets of shape {}, input tokens {}: want the same", batch.targets.sizes(),
                       in.sizes());
  if (!batch.weights.defined()) return "the batch has no loss weights (batch.weights)";
  if (batch.weights.sizes() != in.sizes())
    return fmt::format("weights of shape {}, input tokens {}: want the same", batch.weights.sizes(),
                       in.sizes());
  if (check_values && vocab_size > 0)
    for (const auto& [what, t] : {std::pair<const char*, const torch::Tensor&>{"input tokens", in},
                                  {"targets", batch.targets}}) {
      if (t.numel() == 0) continue;
      const int64_t lo = t.min().item<int64_t>(), hi = t.max().item<int64_t>();
      if (lo < 0 || hi >= vocab_size)
        return fmt::format(
            "{} hold token {}, outside the run's palette of {} colours (0..{}); "
            "PluginContext::data().vocab_size gives the palette size",
            what, lo < 0 ? lo : hi, vocab_size, vocab_size - 1);
    }
  return "";
}

}  // namespace wb
