// The training step as a CUDA graph: capture on a stream of its own after one eager
// run there, replay on the caller's stream. Follows PyTorch's recipe for capturing a
// whole network (torch.cuda.graphs: warm up on a side stream, gradients set to none
// before the capture so the backward allocates them in the graph's memory pool, the
// optimizer's state made before it, the autocast cache off while capturing).
#include <array>

#include <ATen/autocast_mode.h>
#include <ATen/cuda/CUDAEvent.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <fmt/format.h>

#include <workbench/error.hpp>

#include "plugins/plugin_guard.hpp"
#include "training/cuda_graph_step.hpp"

namespace wb {

bool cuda_graphs_built() {
  return true;
}

namespace {

// A batch's tensors, each field once, for the loops below that clone, copy and compare
// them (one list, so none of them can miss a field).
std::array<torch::Tensor*, 4> tensors_of(TrainingBatch& b) {
  return {&b.input.tokens, &b.input.masked, &b.targets, &b.weights};
}
std::array<const torch::Tensor*, 4> tensors_of(const TrainingBatch& b) {
  return {&b.input.tokens, &b.input.masked, &b.targets, &b.weights};
}

bool same_layout(const torch::Tensor& a, const torch::Tensor& b) {
  if (a.defined() != b.defined()) return false;
  return !a.defined() ||
         (a.sizes() == b.sizes() && a.scalar_type() == b.scalar_type() && a.device() == b.device());
}

LossOutput copied(const LossOutput& out) {
  LossOutput r;
  r.loss = out.loss.clone();
  for (const auto& [name, value] : out.metrics) r.metrics[name] = value.clone();
  return r;
}

// The autocast cache off for a scope: a cast weight cached by an eager step would be
// read by every replay, stale after the first update.
class AutocastCacheOff {
 public:
  AutocastCacheOff() : was_(at::autocast::is_autocast_cache_enabled()) {
    at::autocast::set_autocast_cache_enabled(false);
  }
  ~AutocastCacheOff() { at::autocast::set_autocast_cache_enabled(was_); }

 private:
  bool was_;
};

}  // namespace

struct CudaGraphStep::Impl {
  torch::Device device;
  Body body;
  std::unique_ptr<at::cuda::CUDAGraph> graph;
  TrainingBatch in;  // the buffers the graph reads
  LossOutput out;    // the tensors it writes
  std::string problem;

  LossOutput capture(const TrainingBatch& batch);
};

CudaGraphStep::CudaGraphStep(torch::Device device, Body body)
    : impl_(std::make_unique<Impl>(Impl{device, std::move(body), nullptr, {}, {}, ""})) {}
CudaGraphStep::~CudaGraphStep() = default;

LossOutput CudaGraphStep::Impl::capture(const TrainingBatch& batch) {
  in = batch;
  for (torch::Tensor* t : tensors_of(in))
    if (t->defined()) *t = t->clone();
  const c10::DeviceIndex index = device.index();
  auto caller = c10::cuda::getCurrentCUDAStream(index);
  auto side = c10::cuda::getStreamFromPool(/*isHighPriority=*/false, index);
  at::cuda::CUDAEvent ready;
  ready.record(caller);  // the buffers' copies and the rate's fill come first
  ready.block(side);
  LossOutput first;
  {
    c10::cuda::CUDAStreamGuard on(side);
    first = copied(body(in));  // this batch's step, eagerly: the warm-up
    graph = std::make_unique<at::cuda::CUDAGraph>();
    AutocastCacheOff no_cache;
    try {
      // Thread-local: the thread gathering the next batch (pinned memory) may call
      // CUDA while this one captures; global mode would fail the capture for it.
      graph->capture_begin({0, 0}, cudaStreamCaptureModeThreadLocal);
      try {
        out = body(in);
      } catch (...) {
        const std::string why = current_exception_message();
        try {
          graph->capture_end();
        } catch (...) {  // the capture is broken already; its own error says less
        }
        throw Error(why);
      }
      graph->capture_end();
    } catch (...) {
      problem = current_exception_message();
      graph.reset();
      out = {};
    }
  }
  at::cuda::CUDAEvent done;
  done.record(side);
  done.block(caller);
  return first;
}

LossOutput CudaGraphStep::run(const TrainingBatch& batch) {
  Impl& s = *impl_;
  if (!s.problem.empty()) throw Error("CUDA graph: " + s.problem);
  if (!s.graph) return s.capture(batch);
  if (!fits(batch)) throw Error("CUDA graph: a batch of another shape than the captured one");
  const auto to = tensors_of(s.in);
  const auto from = tensors_of(batch);
  for (size_t i = 0; i < to.size(); ++i)
    if (to[i]->defined()) to[i]->copy_(*from[i], /*non_blocking=*/true);
  s.graph->replay();
  return copied(s.out);
}

bool CudaGraphStep::fits(const TrainingBatch& b) const {
  const TrainingBatch& in = impl_->in;
  const auto ours = tensors_of(in);
  const auto theirs = tensors_of(b);
  for (size_t i = 0; i < ours.size(); ++i)
    if (!same_layout(*ours[i], *theirs[i])) return false;
  return in.input.causal == b.input.causal && in.input.shift_sos == b.input.shift_sos;
}

const std::string& CudaGraphStep::problem() const {
  return impl_->problem;
}

}  // namespace wb
