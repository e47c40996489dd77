// The Cluster on c10d's ProcessGroupGloo over a TCPStore rendezvous. Compiled only
// where the LibTorch build's ProcessGroupGloo.hpp can see gloo's headers (Debian's
// libtorch-dev with libgloo-dev); cluster.cpp refuses `--nproc` elsewhere.
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <thread>

#include <fmt/format.h>
#include <workbench/error.hpp>

#include "distributed/cluster.hpp"
#include "distributed/cuda_collectives.hpp"

namespace wb {

namespace {

// A loopback master means one machine: bind Gloo's sockets there too. Otherwise Gloo
// binds to the address this machine's hostname resolves to, as torchrun does.
bool is_loopback(const std::string& addr) {
  return addr == "localhost" || addr.rfind("127.", 0) == 0 || addr == "::1";
}

std::string first_line(const std::string& s) {
  return s.substr(0, s.find('\n'));
}

class GlooCluster : public Cluster {
 public:
  explicit GlooCluster(const ClusterSpec& spec) : spec_(spec) {
    const auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(spec.timeout);
    try {
      c10d::TCPStoreOptions so;
      so.port = static_cast<std::uint16_t>(spec.master_port);
      so.isServer = spec.rank == 0 && !spec.store_hosted;
      so.numWorkers = static_cast<std::size_t>(spec.world);
      so.waitWorkers = true;
      so.timeout = timeout;
      store_ = c10::make_intrusive<c10d::TCPStore>(spec.master_addr, so);
      auto opts = c10d::ProcessGroupGloo::Options::create(timeout);
      opts->devices.push_back(
          is_loopback(spec.master_addr)
              ? c10d::ProcessGroupGloo::createDeviceForHostname(spec.master_addr)
              : c10d::ProcessGroupGloo::createDefaultDevice());
      opts->threads = 2;
      pg_ = c10::make_intrusive<c10d::ProcessGroupGloo>(store_, static_cast<int>(spec.rank),
                                                        static_cast<int>(spec.world), opts);
      // CUDA tensors (the gradient buckets on GPUs) through NCCL where there is one.
      cuda_ = connect_cuda_collectives(store_, spec, &no_cuda_why_);
    } catch (const std::exception& e) {
      throw Error(fmt::format("rank {} of {}: cannot join the rendezvous at {}:{} within {} s: {}",
                              spec.rank, spec.world, spec.master_addr, spec.master_port,
                              spec.timeout.count(), first_line(e.what())));
    }
  }

  int64_t rank() const override { return spec_.rank; }
  int64_t world() const override { return spec_.world; }
  std::string backend() const override {
    return cuda_ ? "nccl (CUDA tensors) + gloo" : "gloo (no NCCL: " + no_cuda_why_ + ")";
  }

  std::function<void()> allreduce_sum_async(torch::Tensor t) override {
    if (t.is_cuda() && cuda_) return cuda_->allreduce_sum_async(t);
    std::vector<at::Tensor> v{t};
    auto work = guarded_collective(spec_, "all-reduce", [&] { return pg_->allreduce(v); });
    return [this, work] { guarded_collective(spec_, "all-reduce", [&] { return work->wait(); }); };
  }

  void broadcast(torch::Tensor t) override {
    if (t.is_cuda() && cuda_) return cuda_->broadcast(t);
    std::vector<at::Tensor> v{t};
    guarded_collective(spec_, "broadcast", [&] { return pg_->broadcast(v)->wait(); });
  }

  void barrier() override {
    guarded_collective(spec_, "barrier", [&] { return pg_->barrier()->wait(); });
  }

  std::string leader_says(const std::string& key, const std::string& value) override {
    if (spec_.rank == 0) {
      store_->set(key, std::vector<uint8_t>(value.begin(), value.end()));
      return value;
    }
    try {
      // Polled, not get(): the store's get() gives up after the rendezvous timeout.
      while (!store_->check({key})) std::this_thread::sleep_for(std::chrono::milliseconds(200));
      const auto bytes = store_->get(key);
      return std::string(bytes.begin(), bytes.end());
    } catch (const std::exception& e) {
      throw Error(
          fmt::format("rank {} of {}: rank 0 went away while this worker waited for '{}': "
                      "{}",
                      spec_.rank, spec_.world, key, first_line(e.what())));
    }
  }

 private:
  ClusterSpec spec_;
  c10::intrusive_ptr<c10d::Store> store_;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> pg_;
  std::unique_ptr<CudaCollectives> cuda_;  // null: CUDA tensors go through Gloo too
  std::string no_cuda_why_;
};

}  // namespace

std::unique_ptr<Cluster> connect_gloo_cluster(const ClusterSpec& spec) {
  return std::make_unique<GlooCluster>(spec);
}

}  // namespace wb
