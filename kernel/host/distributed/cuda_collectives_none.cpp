// This build has no NCCL (no CUDA LibTorch, or no nccl.h): CUDA tensors go through Gloo.
#include "distributed/cuda_collectives.hpp"

namespace wb {

std::unique_ptr<CudaCollectives> connect_cuda_collectives(const c10::intrusive_ptr<c10d::Store>&,
                                                          const ClusterSpec&, std::string* why) {
  *why = "this workbench was built without NCCL (no CUDA LibTorch or no nccl.h)";
  return nullptr;
}

}  // namespace wb
