#pragma once
// The workers of one data-parallel run and the collectives the trainer needs from them,
// on LibTorch's c10d process groups (Gloo). A run without `--nproc` has no Cluster at
// all (a null pointer): every caller treats null as "one process, rank 0".
//
// Rendezvous is torchrun's: rank 0 hosts a c10d TCPStore at MASTER_ADDR:MASTER_PORT and
// every worker, on this machine or another, joins it. The launcher (launcher.hpp) passes
// the coordinates to each worker in the environment variables below.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <torch/types.h>

namespace wb {

// Where a worker stands, as the launcher wrote it into the environment.
struct ClusterSpec {
  int64_t rank = 0, world = 1;              // global
  int64_t local_rank = 0, local_world = 1;  // on this machine
  std::string master_addr = "127.0.0.1";
  int64_t master_port = 29500;
  // How long a collective or the rendezvous may wait on a peer before it fails.
  std::chrono::seconds timeout{300};
  // The launcher already serves the rendezvous store at the master's port (torchrun's
  // agent store): rank 0 joins it as a client instead of serving one.
  bool store_hosted = false;
  // Who started the worker: "workbench" (--nproc/--nnodes), "torchrun" or "slurm".
  std::string launcher = "workbench";
};

// The worker environments: the workbench's launcher's (launch_env.hpp reads torchrun's
// and SLURM's too).
void write_cluster_env(const ClusterSpec& spec);  // setenv, in a child before exec

class Cluster {
 public:
  virtual ~Cluster() = default;
  virtual int64_t rank() const = 0;
  virtual int64_t world() const = 0;
  // Starts an in-place sum over every worker of a dense tensor; the returned function
  // waits for it (and throws wb::Error when a peer failed or timed out).
  virtual std::function<void()> allreduce_sum_async(torch::Tensor t) = 0;
  // Rank 0's values into `t` on every worker.
  virtual void broadcast(torch::Tensor t) = 0;
  virtual void barrier() = 0;
  // Rank 0 posts `value` under `key` on reaching this point and gets it back; the others
  // wait for it without a time limit (rank 0 may spend hours in evaluators that only it
  // runs) and get rank 0's value, failing only when rank 0's rendezvous store goes
  // away, i.e. rank 0 died. Each key is posted once per launch.
  virtual std::string leader_says(const std::string& key, const std::string& value) = 0;
  // Which process-group backend runs the collectives ("gloo").
  virtual std::string backend() const = 0;
};

// A collective that threw: c10d reports a dead or silent peer as an error deep inside
// Gloo or NCCL; a wb::Error says what it means for the run ("rank 1 of 2: all-reduce
// failed (a worker died or stopped answering within 300 s): <first line>").
[[noreturn]] void collective_failed(const ClusterSpec& spec, const std::string& what,
                                    const std::exception& e);
template <typename F>
auto guarded_collective(const ClusterSpec& spec, const char* what, F&& f) {
  try {
    return f();
  } catch (const std::exception& e) {
    collective_failed(spec, what, e);
  }
}

// Joins the run's rendezvous and builds the process group. A wb::Error when this build
// has no process group (see has_process_groups) or a peer never arrives.
std::unique_ptr<Cluster> connect_cluster(const ClusterSpec& spec);

// False where the LibTorch build found no Gloo headers (PyPI's wheel ships none):
// `--nproc` is then refused with that reason before anything starts.
bool has_process_groups();
std::string process_group_unavailable_reason();

// Rank 0's `mine` on every worker, so that all take the branch rank 0 takes (skip a
// finished run, reuse a checkpoint). Null cluster: `mine`.
bool agree_with_leader(Cluster* cluster, bool mine);

// Convenience for a possibly-null cluster.
inline bool is_leader(const Cluster* c) {
  return c == nullptr || c->rank() == 0;
}
inline int64_t world_size(const Cluster* c) {
  return c ? c->world() : 1;
}

}  // namespace wb
