#pragma once
// Pretraining loop: Adam (beta1 0.9, beta2 0.95, no weight decay), linear warm-up then
// cosine decay to 0, optional gradient clipping and accumulation, periodic validation
// loss with the best model kept (best.pt) and optional early stopping, and atomic,
// resumable checkpoints.
#include <string>

#include <torch/optim/optimizer.h>
#include <workbench/config.hpp>
#include <workbench/context.hpp>
#include <workbench/model.hpp>
#include <workbench/objective.hpp>
#include <workbench/schedule.hpp>

#include "cluster.hpp"
#include "gradient_reducer.hpp"

namespace wb {

// Thrown when Ctrl-C or SIGTERM stopped training after its checkpoint was written.
struct Interrupted : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A model's weights alone (final.pt, best.pt): written beside and renamed, so a run
// killed mid-write never leaves a torn file; read onto `device`.
void save_weights(torch::nn::Module& module, const std::string& path);
void load_weights(torch::nn::Module& module, const std::string& path, torch::Device device);

class Trainer {
 public:
  // `dir` holds last.pt (resumable), best.pt (the model at its lowest validation loss)
  // and, written by the runner, final.pt; metrics go to `sink`. `dims_per_token` is how
  // many image dimensions one token stands for (the channels of a pixel), for bits per
  // dimension.
  //
  // With a `cluster` of several workers the training is data-parallel: every worker
  // trains on its slice of each global batch (training.batch_size is the global batch),
  // gradients are averaged by a GradientReducer, and all workers take the same steps.
  // Only rank 0 writes checkpoints and metrics; every rank resumes from rank 0's
  // last.pt, and starts from rank 0's weights.
  Trainer(const Section& training, Model& model, const Objective& objective, torch::Device device,
          uint64_t seed, std::string dir, ResultSink& sink, int64_t dims_per_token = 1,
          Cluster* cluster = nullptr);

  // The warm-up length in steps: training.warmup_epochs passes over `train_size`
  // sequences when set, training.warmup_steps otherwise.
  int64_t warmup_steps(int64_t train_size) const;

  // Trains to the configured step count (or until early stopping), resuming from
  // dir/last.pt when present. tokens: int64 (N, S) on the CPU. Returns the last
  // validation loss.
  double run(const torch::Tensor& train, const torch::Tensor& val);

  // Loads best.pt's weights into the model (training.keep = "best").
  void restore_best();

  // One optimisation step on `batch` (int64 (B, S), any device) at learning rate `lr`:
  // the objective's loss over `training.accumulate` micro-batches, gradient clipping,
  // Adam. Skips the update when the loss is not finite. run() calls it; so does the
  // training benchmark, so that it times exactly this code. Data-parallel: `batch` is
  // this worker's slice, and loss and bits are the mean over the workers.
  struct StepResult {
    double loss = 0, bits_per_token = 0;
    bool interrupted = false;  // data-parallel: Ctrl-C or SIGTERM reached some worker
  };
  // `step` matters only data-parallel: each worker then draws its micro-batches' masks
  // from a generator of its own for (step, rank), so that the workers' masks are
  // independent (one shared stream would give every worker the same masks) and a
  // resumed run draws the same ones.
  StepResult train_step(const torch::Tensor& batch, double lr, int64_t step = 0);

  // The validation loss of the model as it is (fixed batches and mask seed).
  double validate(const torch::Tensor& val, double* bits = nullptr);

 private:
  torch::Tensor batch_indices(int64_t step, int64_t n);
  // The resumable state besides model, optimizer and RNG: the best validation loss and
  // how many validations have passed without improving on it (early stopping).
  struct Progress {
    double best_val = INFINITY;
    int64_t since_best = 0;
  };
  void save(const std::string& path, int64_t step, const Progress& p);
  int64_t resume(const std::string& path, Progress* p);
  void save_best();
  // Data-parallel only: every worker agrees on the resumed step and holds rank 0's
  // weights (an error when a worker resumed from another checkpoint).
  void synchronise_start(int64_t step);
  // Data-parallel only: the workers' mean of each value, in place.
  void average(std::vector<double>& values);

  Section cfg_;
  Model& model_;
  const Objective& objective_;
  torch::Device device_;
  bool bfloat16_;  // training.precision on this device: forward under bfloat16 autocast
  uint64_t seed_;
  std::string dir_;
  ResultSink& sink_;
  int64_t dims_per_token_;
  Cluster* cluster_;                          // null: one process
  std::unique_ptr<GradientReducer> reducer_;  // set when the cluster has several workers
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  torch::Generator objective_gen_;  // masks and other objective randomness; checkpointed
  int64_t perm_epoch_ = -1;
  torch::Tensor perm_;
};

}  // namespace wb
