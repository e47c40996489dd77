#pragma once
// How far a fine-tuning has come, beyond the trained weights and Adam's state (which
// the host's wb::Optimiser saves itself): enough to go on from the batch where it was
// stopped and end exactly where an uninterrupted one would.
#include <cstdint>
#include <vector>

#include <workbench/optimiser.hpp>

namespace finetune {

struct Progress {
  int64_t epoch = 1;     // the epoch in progress (1-based)
  int64_t next_row = 0;  // its next batch's first row in the epoch's order; 0 = not begun
  double loss_sum = 0;   // its loss so far, summed over rows
  int64_t epochs_run = 0;
  double best_val = -1;    // the best validation accuracy so far (-1: none yet)
  int64_t since_best = 0;  // epochs since it, for early stopping
  // The best epoch's model and head: their parameters then buffers, as snapshot() takes.
  std::vector<torch::Tensor> best_model, best_head;
  // The batch generator's state at the epoch's start (it draws the epoch's augmentation
  // and order) and now (it draws the masks).
  torch::Tensor epoch_gen, gen;
  // One row per recorded epoch: epoch, train loss, val accuracy, lr (NaN where an
  // epoch has none: epoch 0, the probe's head), so that a resumed run records the
  // whole curve.
  std::vector<std::vector<double>> curve;

  wb::TrainingState to_state() const;
  static Progress from_state(const wb::TrainingState& state);
};

}  // namespace finetune
