#pragma once
// What a run leaves in the results store, through one object: the run's row, its
// plugins, metrics, attempts and evaluations, and the store its plugins' result sinks
// and artifact records write to. Rank 0 of a data-parallel run (and every one-process
// run) holds the store's record; the other workers hold a discarding one that answers
// as an empty store would: nothing finished, nothing to reuse, nothing kept. So the
// runner asks no "am I rank 0" of its own before writing, and no worker needs a store.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "distributed/run_workers.hpp"
#include "experiment/experiment.hpp"
#include "run/run_context.hpp"
#include "store/store.hpp"

namespace wb {

class RunRecord {
 public:
  // The store's record (`store` outlives it), or with nullptr the discarding one.
  explicit RunRecord(Store* store) : store_(store) {}
  // The store at `db` for the workers' leader, opened here and kept; a discarding
  // record for the others (which never open the file: on another machine it is not
  // theirs).
  static RunRecord for_workers(const std::string& db, const RunWorkers& workers);

  // The store written to: nullptr for the discarding record (plugins' sinks then
  // discard, artifacts are cached but not recorded).
  Store* store() const { return store_; }
  // A result sink for `plugin`'s figures in `run`, named as StoreResults names them; one
  // that discards in the discarding record.
  std::unique_ptr<ResultSink> results(int64_t run, const std::string& plugin,
                                      const std::string& hash,
                                      const std::string& metric_prefix = "") const;

  int64_t experiment(const std::string& name, const std::string& file);
  void mark_dead_runs();
  std::optional<int64_t> finished_run(int64_t experiment, const std::string& config_hash);
  // The SHA-256 of the token cache a finished run recorded ("" if none).
  std::string tokens_sha256(int64_t run);
  // The run's row and the plugins it uses; 0 in the discarding record.
  int64_t begin_run(int64_t experiment, const RunConfig& rc, const Provenance& prov);
  void end_run(int64_t run, const std::string& status, const std::string& error = "");
  void metric(int64_t run, int64_t step, const std::string& name, double value);
  std::vector<int64_t> continue_attempts(int64_t run, const std::string& pretrain_hash);
  std::optional<Evaluation> find_evaluation(const std::string& hash);
  void copy_evaluation(int64_t run, const Evaluation& from, const std::string& metrics);
  void evaluation(const Evaluation& e);

 private:
  std::shared_ptr<Store> owned_;  // for_workers' store
  Store* store_;
};

}  // namespace wb
