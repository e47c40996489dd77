#include "experiment/training_keys.hpp"

namespace wb {

namespace {

Schema make_training_schema() {
  Schema s;
  s.integer("steps", 1000, "optimizer steps").at_least(0);
  s.integer("batch_size", 32, "sequences per optimizer step").at_least(1);
  s.integer("accumulate", 1, "micro-batches per step (batch_size is split among them)").at_least(1);
  s.number("lr", 3e-3, "peak learning rate of Adam (beta1 0.9, beta2 0.95, no weight decay)")
      .at_least(0);
  s.integer("warmup_steps", 100, "linear warm-up steps, then the schedule").at_least(0);
  s.string("schedule", "cosine",
           "after warm-up: cosine decay to 0 at `steps`, or constant (then runs that differ only "
           "in steps share their first steps exactly: the checkpoints of one run)")
      .one_of({"cosine", "constant"});
  s.number("warmup_epochs", 0.0,
           "warm-up length in passes over the training set (rounded up to whole steps); "
           "> 0 replaces warmup_steps")
      .at_least(0);
  s.number("grad_clip", 0.0, "clip the global gradient norm to this; 0 = off").at_least(0);
  s.integer("val_every", 200, "validation loss every N steps (and at the end)").at_least(1);
  s.integer("val_batches", 8, "validation batches per evaluation").at_least(1);
  s.integer("checkpoint_every", 200, "write a resumable checkpoint every N steps").at_least(1);
  s.string("precision", "auto",
           "bfloat16 autocast (float32 weights, losses and norms): auto (where the hardware "
           "multiplies bfloat16 natively: CUDA compute capability 8.0+, CPUs with AVX512-BF16 "
           "or AMX), bfloat16 (always), float32 (never)")
      .one_of({"auto", "bfloat16", "float32"});
  s.boolean("cuda_graph", false,
            "on a GPU, replay the training step as one captured CUDA graph after its first "
            "steps (one process, accumulate = 1; the step is the same, its kernels launched "
            "at once); a step that cannot be captured runs eagerly, with a warning");
  s.integer("log_every", 10, "record training metrics every N steps").at_least(1);
  s.integer("early_stop_patience", 0,
            "stop when N validations in a row do not lower the best validation loss; 0 = off")
      .at_least(0);
  s.string("keep", "last",
           "the pretrained checkpoint evaluators get: last (the paper) or best (lowest "
           "validation loss, best.pt)")
      .one_of({"last", "best"});
  return s;
}

}  // namespace

const Schema& training_schema() {
  static const Schema s = make_training_schema();
  return s;
}

}  // namespace wb
