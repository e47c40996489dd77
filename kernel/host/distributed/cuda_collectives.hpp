#pragma once
// Collectives on CUDA tensors through NCCL (c10d's ProcessGroupNCCL), beside the Gloo
// group that carries everything on the CPU: the trainer's gradient buckets live on the
// GPU, its small agreements (steps, flags, losses) on the CPU. One GPU per local rank.
// Compiled only where LibTorch has CUDA and the NCCL wheel's headers are found
// (cluster_nccl.cpp); elsewhere connect_cuda_collectives says why not.
#include <functional>
#include <memory>
#include <string>

#include <torch/types.h>
#include <torch/csrc/distributed/c10d/Store.hpp>

#include "distributed/cluster.hpp"

namespace wb {

class CudaCollectives {
 public:
  virtual ~CudaCollectives() = default;
  virtual std::function<void()> allreduce_sum_async(torch::Tensor t) = 0;
  virtual void broadcast(torch::Tensor t) = 0;
};

// NCCL on `store` (its keys under a prefix of their own), with this process on GPU
// `spec.local_rank`; null with the reason in `why` when this build has no NCCL, this
// machine no CUDA, or fewer GPUs than local workers (NCCL takes one GPU per rank).
std::unique_ptr<CudaCollectives> connect_cuda_collectives(
    const c10::intrusive_ptr<c10d::Store>& store, const ClusterSpec& spec, std::string* why);

}  // namespace wb
