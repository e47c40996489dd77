// GradientReducer on a stand-in process group: the gradients it writes are the
// workers' mean, with accumulation included; buckets start in index order while
// backward is still running (the overlap), and parameters without a gradient keep none.
#include <gtest/gtest.h>

#include "distributed/gradient_reducer.hpp"

namespace {

// `world` identical workers: a sum over them is the tensor times `world`. Records the
// order in which buckets start and whether backward had finished by then.
struct IdenticalWorkers : wb::Cluster {
  explicit IdenticalWorkers(int64_t w) : world_(w) {}
  int64_t rank() const override { return 0; }
  int64_t world() const override { return world_; }
  std::string backend() const override { return "identical-workers"; }
  std::function<void()> allreduce_sum_async(torch::Tensor t) override {
    started.push_back(t.numel());
    started_during_backward.push_back(in_backward);
    return [t, w = world_] { t.mul_(static_cast<double>(w)); };
  }
  void broadcast(torch::Tensor) override {}
  void barrier() override {}
  std::string leader_says(const std::string&, const std::string& v) override { return v; }
  int64_t world_;
  bool in_backward = false;
  std::vector<int64_t> started;
  std::vector<bool> started_during_backward;
};

// Three linear layers; `skip` leaves the middle one out of the graph.
struct Net : torch::nn::Module {
  Net() {
    a = register_module("a", torch::nn::Linear(8, 16));
    b = register_module("b", torch::nn::Linear(16, 16));
    c = register_module("c", torch::nn::Linear(16, 4));
  }
  torch::Tensor forward(torch::Tensor x, bool skip = false) {
    x = torch::tanh(a(x));
    if (!skip) x = torch::tanh(b(x));
    return c(x);
  }
  torch::nn::Linear a{nullptr}, b{nullptr}, c{nullptr};
};

std::vector<torch::Tensor> grads(Net& net) {
  std::vector<torch::Tensor> g;
  for (auto& p : net.parameters())
    g.push_back(p.grad().defined() ? p.grad().clone() : torch::Tensor());
  return g;
}

}  // namespace

TEST(GradientReducer, WritesTheWorkersMeanIncludingAccumulatedMicroBatches) {
  torch::manual_seed(0);
  Net net;
  auto x1 = torch::randn({5, 8}), x2 = torch::randn({5, 8});
  // Reference: two micro-batches accumulated, no reducer.
  net.zero_grad();
  net.forward(x1).square().mean().backward();
  net.forward(x2).square().mean().backward();
  const auto want = grads(net);

  IdenticalWorkers cluster(3);
  // 64-float buckets: c's weight alone fills one, so the net has several buckets.
  wb::GradientReducer reducer(cluster, net.parameters(), 64 * sizeof(float));
  EXPECT_GE(reducer.buckets(), 3);
  net.zero_grad();
  net.forward(x1).square().mean().backward();  // not armed: accumulates as usual
  EXPECT_TRUE(cluster.started.empty());
  reducer.arm();
  cluster.in_backward = true;
  net.forward(x2).square().mean().backward();
  cluster.in_backward = false;
  reducer.finish();
  const auto got = grads(net);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i)
    EXPECT_TRUE(torch::allclose(got[i], want[i], 1e-6, 1e-7));
  // Every bucket started during backward, none waited for finish(): the overlap.
  ASSERT_EQ(static_cast<int64_t>(cluster.started.size()), reducer.buckets());
  for (bool during : cluster.started_during_backward) EXPECT_TRUE(during);
}

TEST(GradientReducer, AParameterOutsideTheGraphKeepsNoGradient) {
  torch::manual_seed(1);
  Net net;
  IdenticalWorkers cluster(2);
  wb::GradientReducer reducer(cluster, net.parameters(), 64 * sizeof(float));
  net.zero_grad();
  for (auto& p : net.parameters()) p.mutable_grad() = torch::Tensor();
  reducer.arm();
  net.forward(torch::randn({3, 8}), /*skip=*/true).sum().backward();
  reducer.finish();  // b's buckets start here, with zeros for b
  EXPECT_FALSE(net.b->weight.grad().defined());
  EXPECT_TRUE(net.a->weight.grad().defined());
  EXPECT_EQ(static_cast<int64_t>(cluster.started.size()), reducer.buckets());
}
