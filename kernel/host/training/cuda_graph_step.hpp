#pragma once
// The pretraining step replayed as one CUDA graph (training.cuda_graph). On a GPU a
// step of a small model is hundreds of kernel launches, each some microseconds of host
// time the GPU can wait on; a captured graph launches them all in one call. The device
// runs what the eager step runs (the model's forward, the objective's loss, the
// backward, clipping and Adam), reading batches copied into buffers the graph owns: the
// objective prepares each batch outside the graph, eagerly, with the run's generator.
#include <functional>
#include <memory>
#include <string>

#include <workbench/objective.hpp>

namespace wb {

// Whether this build can capture CUDA graphs (its LibTorch has CUDA).
bool cuda_graphs_built();

class CudaGraphStep {
 public:
  // One step's device work on `batch`: forward, loss, backward, update, with no host
  // read (AdamStep::update_on_device). Returns the loss and metrics, detached.
  using Body = std::function<LossOutput(const TrainingBatch& batch)>;
  CudaGraphStep(torch::Device device, Body body);
  ~CudaGraphStep();

  // The first call runs the body once on the capture stream for `batch` (its step, and
  // the warm-up a capture needs: libraries allocate their workspaces on a stream's first
  // use), then captures it; where the capture fails, problem() says why and the result
  // is still that eager step's. Later calls copy `batch` into the graph's buffers and
  // replay it. The loss and metrics returned are the caller's to keep.
  LossOutput run(const TrainingBatch& batch);
  // Whether `batch` has the captured shapes and fields (only such a batch replays).
  bool fits(const TrainingBatch& batch) const;
  // Empty while the graph is usable; else why the capture failed.
  const std::string& problem() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace wb
