#include "run/memory_guard.hpp"

#include <fstream>
#include <sstream>

#include <ATen/DeviceAccelerator.h>
#include <fmt/format.h>
#include <workbench/error.hpp>

namespace wb {

TrainingMemory estimate_training_memory(int64_t params, int64_t layers, int64_t width,
                                        int64_t micro_batch, int64_t tokens, int64_t vocab) {
  TrainingMemory m;
  const double positions = double(micro_batch) * double(tokens);
  m.weights = 16.0 * double(params);  // float32 weights, gradients, two Adam moments
  m.activations = 68.0 * double(layers) * positions * double(width);  // 17 floats each
  m.logits = 12.0 * positions * double(vocab);  // logits, log-softmax, gradient
  return m;
}

int64_t available_memory(const torch::Device& device) {
  if (!device.is_cpu()) {
    // The device's free memory as its driver reports it (cudaMemGetInfo for CUDA).
    try {
      return int64_t(at::accelerator::getMemoryInfo(device.has_index() ? device.index() : 0).first);
    } catch (const std::exception&) {
      return -1;
    }
  }
  std::ifstream in("/proc/meminfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("MemAvailable:", 0) != 0) continue;
    std::istringstream fields(line.substr(13));
    int64_t kb = -1;
    fields >> kb;
    return kb < 0 ? -1 : kb * 1024;
  }
  return -1;
}

std::string memory_problem(const TrainingMemory& need, int64_t available, const std::string& where,
                           int64_t micro_batch, int64_t tokens) {
  if (available < 0 || need.total() <= double(available)) return "";
  const auto gb = [](double bytes) { return bytes / 1e9; };
  return fmt::format(
      "training would need about {:.1f} GB (weights and Adam state {:.1f} GB, activations of a "
      "micro-batch of {} sequences of {} tokens {:.1f} GB, logits {:.1f} GB) and {} "
      "has {:.1f} GB available: lower training.batch_size (or raise training.accumulate), "
      "dataset.resolution or the model's size, or set experiment.memory_check = false to "
      "start anyway",
      gb(need.total()), gb(need.weights), micro_batch, tokens, gb(need.activations),
      gb(need.logits), where, gb(double(available)));
}

void check_training_memory(const Section& training, Model& model, const DataFacts& facts,
                           const torch::Device& device, int64_t workers, int64_t local_workers) {
  const int64_t accumulate = training.get_int("accumulate");
  const int64_t micro = (training.get_int("batch_size") / workers + accumulate - 1) / accumulate;
  int64_t params = 0;
  for (const auto& p : model.module().parameters()) params += p.numel();
  const auto need = estimate_training_memory(params, model.num_layers(), model.width(), micro,
                                             facts.context, facts.vocab_size);
  int64_t available = available_memory(device);
  if (available > 0 && device.is_cpu()) available /= local_workers;
  const std::string where =
      device.is_cpu() ? "this machine" : fmt::format("device {}", device.str());
  const std::string problem = memory_problem(need, available, where, micro, facts.context);
  if (!problem.empty()) throw Error(problem);
}

}  // namespace wb
