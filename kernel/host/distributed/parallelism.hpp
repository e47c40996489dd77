#pragma once
// How training is shared among processes, asked at the few points where that matters:
// the start, each worker's share of a batch, the objective's random stream, gradient
// reduction around the last backward of a step, agreement on the step's loss and on
// stopping, and the figures rank 0 writes. This base class is one process, where every
// point is a no-op; distributed/data_parallel.hpp is the several-process strategy.
// The trainer reads top to bottom as a single-process loop with these calls in it.
#include <cstdint>
#include <map>
#include <string>

#include <torch/nn/module.h>
#include <torch/types.h>

#include "platform/interrupt.hpp"

namespace wb {

class Parallelism {
 public:
  virtual ~Parallelism() = default;

  virtual int64_t workers() const { return 1; }
  // The worker that writes checkpoints, metrics and the progress bar.
  virtual bool leader() const { return true; }

  // Start: every worker agrees on the step it resumes at and holds the same weights.
  virtual void start(torch::nn::Module& /*module*/, int64_t /*step*/) {}
  // This worker's rows of a global batch's `rows` (int64 (B)).
  virtual torch::Tensor share(const torch::Tensor& rows) const { return rows; }
  // The generator of step `step`'s objective randomness (masks): the trainer's own,
  // checkpointed stream `own` for one process.
  virtual torch::Generator step_generator(const torch::Generator& own, uint64_t /*seed*/,
                                          int64_t /*step*/) {
    return own;
  }

  // Gradient reduction: before the backward of a step's last micro-batch, and after it
  // (gradients are then the workers' mean).
  virtual void before_last_backward() {}
  virtual void after_backward() {}

  // Stop agreement at the end of a step: the step's loss (in: this worker's, out: the
  // workers' mean) and whether to stop for an interrupt (Ctrl-C, SIGTERM) — on any
  // worker, so that all stop at the same step.
  virtual bool agree_on_step(double* /*loss*/, bool interrupted_here) { return interrupted_here; }
  // After the step's validation and checkpoint: whether to stop now, given the step's
  // agreed flag. One process also heeds an interrupt that came since; workers heed only
  // the agreed flag, so that none stops alone.
  virtual bool stop_after_step(bool agreed) const { return agreed || interrupted(); }
  // The workers' means of logged figures, in place.
  virtual void average(std::map<std::string, double>& /*values*/) {}
  // The leader's value of `v` on every worker (the validation loss that decides early
  // stopping for all).
  virtual double leaders_value(double v) { return v; }
};

}  // namespace wb
