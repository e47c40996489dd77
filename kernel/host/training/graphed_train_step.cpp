// Trainer::train_step as a replayed CUDA graph (training.cuda_graph; cuda_graph_step.hpp
// says why). The same step as the eager one: the objective prepares the batch with the
// run's generator (outside the graph), the graph runs forward, loss, backward, clipping
// and Adam; the loss is read once afterwards, and a non-finite one has skipped the
// update inside the graph (Adam's found_inf) as the eager step skips it.
#include <fmt/format.h>

#include <workbench/error.hpp>
#include <workbench/precision.hpp>

#include "platform/interrupt.hpp"
#include "platform/log.hpp"
#include "training/trainer.hpp"

namespace wb {

namespace {
// Eager steps before the capture: the first steps make Adam's state and let LibTorch's
// libraries pick and cache their kernels, which a capture must find ready.
constexpr int64_t kEagerStepsBeforeGraph = 2;
}  // namespace

Trainer::StepResult Trainer::graphed_step(const torch::Tensor& batch, double lr, int64_t step) {
  if (eager_steps_ < kEagerStepsBeforeGraph) {
    ++eager_steps_;
    return eager_step(batch, lr, step);
  }
  torch::Generator gen = parallel_->step_generator(objective_gen_, seed_, step);
  const TrainingBatch prepared = objective_.prepare(batch.to(device_, /*non_blocking=*/true), gen);
  if (!graph_) {
    graph_lr_ = torch::zeros({}, torch::TensorOptions(device_).dtype(torch::kFloat32));
    graph_ = std::make_unique<CudaGraphStep>(device_, [this](const TrainingBatch& in) {
      adam_.clear_grads();  // the backward then makes them in the graph's memory
      LossOutput out;
      {
        BfloatAutocast autocast(device_, bfloat16_);
        out = objective_.loss(in, model_.forward(in.input));
      }
      out.loss.backward();
      auto loss = out.loss.detach();
      adam_.update_on_device(graph_lr_, torch::isfinite(loss).logical_not().to(torch::kFloat32));
      out.loss = loss;
      return out;
    });
  } else if (!graph_->fits(prepared)) {
    throw Error(
        "training.cuda_graph: this step's batch differs in shape from the captured "
        "one; set training.cuda_graph = false");
  }
  graph_lr_.fill_(lr);
  const LossOutput out = graph_->run(prepared);
  if (!graph_->problem().empty()) {  // this step ran eagerly; so do the next ones
    log_message(LogLevel::Warn,
                fmt::format("training.cuda_graph: the step could not be captured ({}); "
                            "training goes on without a graph",
                            graph_->problem()));
    graph_.reset();
    graph_wanted_ = false;
  }
  StepResult r;
  r.loss = out.loss.item<double>();  // the step's one read
  if (std::isfinite(r.loss)) adam_.count_step();
  for (const auto& [name, value] : out.metrics) r.metrics[name] = value.to(torch::kFloat64);
  r.interrupted = parallel_->agree_on_step(&r.loss, interrupted());
  return r;
}

}  // namespace wb
