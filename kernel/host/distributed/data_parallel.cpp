#include "distributed/data_parallel.hpp"

#include <vector>

#include <fmt/format.h>
#include <torch/torch.h>

#include <workbench/error.hpp>

#include "distributed/gradient_reducer.hpp"
#include "platform/log.hpp"

namespace wb {

namespace {

class DataParallel : public Parallelism {
 public:
  DataParallel(Cluster& cluster, torch::nn::Module& module)
      : cluster_(cluster), reducer_(cluster, module.parameters()) {}

  int64_t workers() const override { return cluster_.world(); }
  bool leader() const override { return cluster_.rank() == 0; }

  void start(torch::nn::Module& module, int64_t step) override {
    auto agreed = torch::tensor({step}, torch::kLong);
    cluster_.broadcast(agreed);
    if (agreed.item<int64_t>() != step)
      throw Error(fmt::format(
          "rank {} would resume at step {} but rank 0 at step {}: every worker must see rank "
          "0's checkpoints (on several machines, put the artifacts folder on a shared file "
          "system)",
          cluster_.rank(), step, agreed.item<int64_t>()));
    // One flat broadcast of every parameter and buffer: all workers start identical.
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> state;
    for (const auto& p : module.parameters()) state.push_back(p);
    for (const auto& b : module.buffers())
      if (b.is_floating_point()) state.push_back(b);
    if (state.empty()) return;
    std::vector<torch::Tensor> flat_parts;
    for (const auto& t : state) flat_parts.push_back(t.reshape(-1).to(torch::kFloat));
    auto flat = torch::cat(flat_parts);
    cluster_.broadcast(flat);
    int64_t offset = 0;
    for (auto& t : state) {
      t.copy_(flat.narrow(0, offset, t.numel()).view(t.sizes()));
      offset += t.numel();
    }
  }

  torch::Tensor share(const torch::Tensor& rows) const override {
    const int64_t n = rows.size(0) / cluster_.world();
    return rows.narrow(0, cluster_.rank() * n, n);
  }

  // Each worker's masks from a generator of its own for (step, rank): one shared stream
  // would give every worker the same masks, and a resumed run draws the same ones.
  torch::Generator step_generator(const torch::Generator&, uint64_t seed, int64_t step) override {
    return torch::make_generator<at::CPUGeneratorImpl>(derive_seed(
        seed, "trainer", fmt::format("objective/step{}/rank{}", step, cluster_.rank())));
  }

  void before_last_backward() override { reducer_.arm(); }
  void after_backward() override { reducer_.finish(); }

  bool agree_on_step(double* loss, bool interrupted_here) override {
    std::vector<double> v{*loss, interrupted_here ? 1.0 : 0.0};
    mean(v);
    *loss = v[0];
    return v[1] > 0;
  }

  bool stop_after_step(bool agreed) const override { return agreed; }

  void average(std::map<std::string, double>& values) override {
    std::vector<double> v;
    for (const auto& kv : values) v.push_back(kv.second);
    mean(v);
    size_t i = 0;
    for (auto& kv : values) kv.second = v[i++];
  }

  double leaders_value(double value) override {
    auto t = torch::tensor({value}, torch::kDouble);
    cluster_.broadcast(t);
    return t[0].item<double>();
  }

 private:
  void mean(std::vector<double>& values) {
    auto t = torch::tensor(values, torch::kDouble);
    cluster_.allreduce_sum_async(t)();
    for (size_t i = 0; i < values.size(); ++i)
      values[i] = t[static_cast<int64_t>(i)].item<double>() / static_cast<double>(cluster_.world());
  }

  Cluster& cluster_;
  GradientReducer reducer_;
};

}  // namespace

std::unique_ptr<Parallelism> make_parallelism(Cluster* cluster, torch::nn::Module& module,
                                              int64_t batch_size) {
  if (world_size(cluster) <= 1) return std::make_unique<Parallelism>();
  if (batch_size % cluster->world() != 0)
    throw Error(
        fmt::format("training.batch_size = {} does not split evenly over {} workers: "
                    "it is the global batch, each worker takes batch_size / workers",
                    batch_size, cluster->world()));
  return std::make_unique<DataParallel>(*cluster, module);
}

}  // namespace wb
