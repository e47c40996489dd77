#pragma once
// The runner's one view of the processes of a run: every rank branch of `workbench
// run` goes through here (the trainer's go through training/parallelism.hpp). Without
// `--nproc` there is no Cluster and every call is the one-process answer.
#include <cstdint>
#include <functional>
#include <string>

#include "distributed/cluster.hpp"

namespace wb {

class RunWorkers {
 public:
  explicit RunWorkers(Cluster* cluster) : cluster_(cluster) {}

  Cluster* cluster() const { return cluster_; }
  bool several() const { return cluster_ != nullptr; }
  // Rank 0: records the run, writes checkpoints, evaluates.
  bool leader() const { return is_leader(cluster_); }
  int64_t count() const { return world_size(cluster_); }

  // Rank 0's `mine` on every worker, so that all take the branch rank 0 takes (skip a
  // finished run, reuse a checkpoint).
  bool agree(bool mine) const { return agree_with_leader(cluster_, mine); }
  // `make` on rank 0 first, then on the others, which read what it made (the token
  // cache) rather than racing to write it. `key` names the rendezvous.
  void leader_first(const std::string& key, const std::function<void()>& make) const;
  // How a run ended: rank 0 posts `mine` under `key`; the others wait for it. Returns
  // rank 0's word (one process: `mine`).
  std::string outcome(const std::string& key, const std::string& mine) const;
  // Rank 0 posts `value` under `key` without waiting for anyone (a run interrupted or
  // failed on rank 0, for the others that may be waiting in outcome()).
  void tell(const std::string& key, const std::string& value) const;

 private:
  Cluster* cluster_;
};

}  // namespace wb
