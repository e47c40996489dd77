// A LibTorch without CUDA: no graph is ever captured (Trainer takes the eager step).
#include "training/cuda_graph_step.hpp"

#include <workbench/error.hpp>

namespace wb {

bool cuda_graphs_built() {
  return false;
}

struct CudaGraphStep::Impl {
  std::string problem = "this build's LibTorch has no CUDA";
};

CudaGraphStep::CudaGraphStep(torch::Device, Body) : impl_(std::make_unique<Impl>()) {}
CudaGraphStep::~CudaGraphStep() = default;

LossOutput CudaGraphStep::run(const TrainingBatch&) {
  throw Error("CUDA graphs: " + impl_->problem);
}
bool CudaGraphStep::fits(const TrainingBatch&) const {
  return false;
}
const std::string& CudaGraphStep::problem() const {
  return impl_->problem;
}

}  // namespace wb
