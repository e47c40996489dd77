// NCCL for CUDA tensors (cuda_collectives.hpp). Built only with USE_C10D_NCCL: LibTorch
// with CUDA and nccl.h from the nvidia-nccl wheel that PyPI's torch depends on.
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>

#include <c10/cuda/CUDAFunctions.h>
#include <fmt/format.h>
#include <torch/cuda.h>
#include <workbench/error.hpp>

#include "distributed/cuda_collectives.hpp"

namespace wb {

namespace {

class NcclCollectives : public CudaCollectives {
 public:
  NcclCollectives(const c10::intrusive_ptr<c10d::Store>& store, const ClusterSpec& spec)
      : spec_(spec) {
    c10::cuda::set_device(static_cast<c10::DeviceIndex>(spec.local_rank));
    auto opts = c10d::ProcessGroupNCCL::Options::create();
    opts->timeout = std::chrono::duration_cast<std::chrono::milliseconds>(spec.timeout);
    pg_ = c10::make_intrusive<c10d::ProcessGroupNCCL>(
        c10::make_intrusive<c10d::PrefixStore>("nccl", store), static_cast<int>(spec.rank),
        static_cast<int>(spec.world), opts);
  }

  std::function<void()> allreduce_sum_async(torch::Tensor t) override {
    std::vector<at::Tensor> v{t};
    auto work = pg_->allreduce(v);
    return [this, work] {
      guarded_collective(spec_, "NCCL all-reduce", [&] { return work->wait(); });
    };
  }

  void broadcast(torch::Tensor t) override {
    std::vector<at::Tensor> v{t};
    guarded_collective(spec_, "NCCL broadcast", [&] { return pg_->broadcast(v)->wait(); });
  }

 private:
  ClusterSpec spec_;
  c10::intrusive_ptr<c10d::ProcessGroupNCCL> pg_;
};

}  // namespace

std::unique_ptr<CudaCollectives> connect_cuda_collectives(
    const c10::intrusive_ptr<c10d::Store>& store, const ClusterSpec& spec, std::string* why) {
  if (!torch::cuda::is_available()) {
    *why = "no CUDA device";
    return nullptr;
  }
  const int64_t gpus = static_cast<int64_t>(torch::cuda::device_count());
  if (gpus < spec.local_world) {
    *why = fmt::format("{} local workers but {} GPU(s): NCCL takes one GPU per worker",
                       spec.local_world, gpus);
    return nullptr;
  }
  return std::make_unique<NcclCollectives>(store, spec);
}

}  // namespace wb
