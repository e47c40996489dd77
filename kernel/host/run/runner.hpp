#pragma once
// Runs the expanded runs of an experiment: data -> tokens -> pretraining -> evaluators,
// recording everything in the store and reusing every cached artifact.
#include <ostream>
#include <string>

#include "distributed/cluster.hpp"
#include "experiment/experiment.hpp"
#include "plugins/plugin_registry.hpp"
#include "run/run_record.hpp"
#include "store/store.hpp"

namespace wb {

class StoreArtifacts;

struct RunOptions {
  // --force: redo runs whose config hash already finished: the run and its
  // evaluations, reusing cached artifacts (tokens, checkpoint, features).
  bool force = false;
  std::string artifacts_root;  // default: <db folder>/artifacts
  std::string command_line;
  // Data-parallel (`--nproc`): this worker's process group, null for one process.
  // Pretraining is shared by all workers; rank 0 alone records the run, writes the
  // checkpoints and runs the evaluators. Workers on one machine split its cores.
  Cluster* cluster = nullptr;
  int64_t local_workers = 1;
  int64_t local_rank = 0;  // on CUDA each local worker takes GPU local_rank
  // --recompute (implies force): also remake every artifact the run uses; the cached
  // tokens, palette, checkpoint and features are deleted first.
  bool recompute = false;
};

struct RunSummary {
  int finished = 0, skipped = 0, failed = 0, interrupted = 0;
  bool ok() const { return failed == 0 && interrupted == 0; }
};

// Records into `record` (the store's, or a data-parallel worker's discarding one).
RunSummary run_experiment(const Experiment& exp, RunRecord& record, const PluginRegistry& registry,
                          const RunOptions& options);
// One process: records into `store`.
RunSummary run_experiment(const Experiment& exp, Store& store, const PluginRegistry& registry,
                          const RunOptions& options);

// --recompute: nothing cached is reused. Rank 0 deletes the artifact folder of `kind`
// and `key` before the artifact's first use; the others wait for it to be made again.
void forget(const RunOptions& opt, StoreArtifacts& artifacts, const std::string& kind,
            const std::string& key);

// `--dry-run`: each run's label, hash and resolved config.
void print_runs(const Experiment& exp, std::ostream& out);

// "auto" -> cuda when LibTorch has a GPU, else cpu; "cuda" without one is an error.
torch::Device resolve_device(const std::string& name);
// threads = 0 -> one per core, shared among `local_workers` processes. Sets LibTorch's
// intra-op threads; returns the count.
int64_t set_threads(int64_t threads, int64_t local_workers = 1);

}  // namespace wb
