#pragma once
// Pretraining loop: Adam (beta1 0.9, beta2 0.95, no weight decay), linear warm-up then
// cosine decay to 0, optional gradient clipping and accumulation, periodic validation
// loss with the best model kept (best.pt) and optional early stopping, and atomic,
// resumable checkpoints.
#include <map>
#include <string>

#include <workbench/config.hpp>
#include <workbench/context.hpp>
#include <workbench/model.hpp>
#include <workbench/objective.hpp>
#include <workbench/schedule.hpp>

#include "distributed/cluster.hpp"
#include "distributed/parallelism.hpp"
#include "training/adam_step.hpp"
#include "training/cuda_graph_step.hpp"

namespace wb {

// A model's weights alone (final.pt, best.pt): written beside and renamed, so a run
// killed mid-write never leaves a torn file; read onto `device`.
void save_weights(torch::nn::Module& module, const std::string& path);
// Checks the file against its checksum record (an error naming it when it does not
// match), then reads it.
void load_weights(torch::nn::Module& module, const std::string& path, torch::Device device);
// Reads weights already checked (reuse_checked said yes): no second pass over the file.
void read_weights(torch::nn::Module& module, const std::string& path, torch::Device device);
// Removes the resumable checkpoint at `path` (and its checksum record) when it does not
// match its record (damaged, zero bytes after a lost write, a symbolic link), saying so:
// the pretraining then starts again from step 0. True when it was removed.
bool drop_unusable_checkpoint(const std::string& path);

// A validation: the objective's loss and metrics on the first `max_batches` batches of
// `val` (all when 0), in eval mode, with masks from a generator seeded the same every
// time (so a curve compares like with like), under the run's precision.
struct Validation {
  double loss = NAN;
  std::map<std::string, double> metrics;  // the objective's, e.g. bits_per_token
  int64_t images = 0;                     // how many it covered
};
Validation validate(Model& model, const Objective& objective, const torch::Tensor& val,
                    int64_t batch_size, int64_t max_batches, uint64_t seed, torch::Device device,
                    bool bfloat16);

// Writes a validation's figures at step `at`, each name after `prefix` ("val_" during
// training, "final_val_" for the whole split): the loss, the objective's metrics, bits
// per dimension (bits per token over `dims_per_token`) and the images it covered.
void record_validation(ResultSink& sink, int64_t at, const std::string& prefix, const Validation& v,
                       int64_t dims_per_token);

// Where a training runs and what it writes besides the metrics.
struct TrainingPlace {
  torch::Device device = torch::kCPU;
  uint64_t seed = 0;
  // Holds last.pt (resumable), best.pt (the model at its lowest validation loss) and,
  // written by the runner, final.pt.
  std::string dir;
  // How many image dimensions one token stands for (a pixel's channels): bits per
  // dimension are bits per token over this.
  int64_t dims_per_token = 1;
  // Several workers: data-parallel training (distributed/data_parallel.hpp).
  Cluster* cluster = nullptr;
};

class Trainer {
 public:
  // Metrics go to `sink`.
  Trainer(const Section& training, Model& model, const Objective& objective, ResultSink& sink,
          TrainingPlace place);

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
  // training benchmark, so that it times exactly this code. Reads the loss once per
  // step (to skip a non-finite one), the metrics not at all. Data-parallel: `batch`
  // is this worker's slice, and the loss is the mean over the workers.
  struct StepResult {
    double loss = 0;
    // The objective's metrics for this worker's batch, scalar tensors on the device.
    std::map<std::string, torch::Tensor> metrics;
    bool interrupted = false;  // data-parallel: Ctrl-C or SIGTERM reached some worker
  };
  // `step` matters only data-parallel: each worker then draws its micro-batches' masks
  // from a generator of its own for (step, rank), so that the workers' masks are
  // independent (one shared stream would give every worker the same masks) and a
  // resumed run draws the same ones.
  StepResult train_step(const torch::Tensor& batch, double lr, int64_t step = 0);

  // Whether the steps replay a captured CUDA graph now (training.cuda_graph).
  bool replays_graph() const { return graph_ != nullptr; }

  // The periodic validation: training.val_batches batches of `val`.
  Validation validate(const torch::Tensor& val);

 private:
  torch::Tensor batch_indices(int64_t step, int64_t n);
  // train_step as a replayed CUDA graph (graphed_train_step.cpp), where
  // training.cuda_graph asks for it and it applies; the eager step otherwise.
  StepResult graphed_step(const torch::Tensor& batch, double lr, int64_t step);
  StepResult eager_step(const torch::Tensor& batch, double lr, int64_t step);
  // The resumable state besides model, optimizer and RNG: the best validation loss and
  // how many validations have passed without improving on it (early stopping).
  struct Progress {
    double best_val = INFINITY;
    int64_t since_best = 0;
  };
  void save(const std::string& path, int64_t step, const Progress& p);
  int64_t resume(const std::string& path, Progress* p);
  void save_best();
  Section cfg_;
  Model& model_;
  const Objective& objective_;
  torch::Device device_;
  bool bfloat16_;  // training.precision on this device: forward under bfloat16 autocast
  uint64_t seed_;
  std::string dir_;
  ResultSink& sink_;
  int64_t dims_per_token_;
  std::unique_ptr<Parallelism> parallel_;  // one process, or data-parallel workers
  torch::Generator objective_gen_;         // masks and other objective randomness; checkpointed
  AdamStep adam_;                          // after objective_gen_: made from the model's parameters
  int64_t perm_epoch_ = -1;
  torch::Tensor perm_;
  // training.cuda_graph on a GPU, one process, one micro-batch per step: the steps after
  // the first kEagerStepsBeforeGraph replay graph_ (false again if its capture fails).
  bool graph_wanted_;
  int64_t eager_steps_ = 0;
  std::unique_ptr<CudaGraphStep> graph_;
  torch::Tensor graph_lr_;  // float32 scalar on the device: the rate the graph's Adam reads
};

}  // namespace wb
