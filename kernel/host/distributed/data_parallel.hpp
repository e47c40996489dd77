#pragma once
// Data-parallel training on a Cluster: every worker trains on its slice of each global
// batch (training.batch_size is the global batch), gradients are averaged by a
// GradientReducer overlapped with backward, and all workers take the same steps. Rank 0
// writes checkpoints and metrics; every rank resumes from rank 0's last.pt and starts
// from rank 0's weights.
#include <memory>

#include <torch/nn/module.h>

#include "distributed/cluster.hpp"
#include "distributed/parallelism.hpp"

namespace wb {

// The strategy for `cluster`: one process when it is null or has one worker. Throws
// when `batch_size` does not split evenly over the workers.
std::unique_ptr<Parallelism> make_parallelism(Cluster* cluster, torch::nn::Module& module,
                                              int64_t batch_size);

}  // namespace wb
