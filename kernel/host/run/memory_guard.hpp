#pragma once
// Before training: an estimate of the memory a training step needs, so that a setting
// far beyond the machine (a resolution of 1000, a batch of 10^5) is refused with the
// figures rather than swapping for an hour without a step.
#include <cstdint>
#include <string>

#include <torch/types.h>
#include <workbench/config.hpp>
#include <workbench/context.hpp>
#include <workbench/model.hpp>

namespace wb {

struct TrainingMemory {
  double weights = 0;      // bytes: weights, gradients and Adam's two moments
  double activations = 0;  // bytes: what backward keeps of every block, per micro-batch
  double logits = 0;       // bytes: logits, their log-softmax and its gradient
  double total() const { return weights + activations + logits; }
};

// An upper estimate for a transformer of `layers` blocks of `width` on micro-batches of
// `micro_batch` sequences of `tokens` over a palette of `vocab`: float32 throughout
// (bfloat16 autocast keeps less), about 17 stored values per token, width and block
// (Korthikanti et al. 2022), attention scores not stored (flash attention).
TrainingMemory estimate_training_memory(int64_t params, int64_t layers, int64_t width,
                                        int64_t micro_batch, int64_t tokens, int64_t vocab);

// The memory a training step on `device` can take, in bytes: MemAvailable of
// /proc/meminfo for the CPU, the device's free memory for an accelerator (CUDA); -1 when
// it cannot be read.
int64_t available_memory(const torch::Device& device);

// "" when `need` fits in `available` bytes of `where` (or available is unknown), else
// why not, with the figures and what to change.
std::string memory_problem(const TrainingMemory& need, int64_t available, const std::string& where,
                           int64_t micro_batch, int64_t tokens);

// Throws wb::Error with memory_problem's text when a training step of `model` for
// `facts` on `device` would not fit: the micro-batch is training.batch_size over the
// `workers` and training.accumulate; on the CPU `local_workers` share the machine's
// memory, on a GPU the device's free memory is the limit.
void check_training_memory(const Section& training, Model& model, const DataFacts& facts,
                           const torch::Device& device, int64_t workers, int64_t local_workers);

}  // namespace wb
