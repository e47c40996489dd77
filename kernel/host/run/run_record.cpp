#include "run/run_record.hpp"

#include "run/provenance.hpp"  // host_name

namespace wb {

RunRecord RunRecord::for_workers(const std::string& db, const RunWorkers& workers) {
  RunRecord record(nullptr);
  if (workers.leader()) {
    record.owned_ = std::make_shared<Store>(db);
    record.store_ = record.owned_.get();
  }
  return record;
}

namespace {
struct DiscardedResults : ResultSink {
  void metric(int64_t, const std::string&, double) override {}
  void result(const std::string&, int64_t, const std::string&, double) override {}
};
}  // namespace

std::unique_ptr<ResultSink> RunRecord::results(int64_t run, const std::string& plugin,
                                               const std::string& hash,
                                               const std::string& metric_prefix) const {
  if (!store_) return std::make_unique<DiscardedResults>();
  return std::make_unique<StoreResults>(store_, run, plugin, hash, metric_prefix);
}

int64_t RunRecord::experiment(const std::string& name, const std::string& file) {
  return store_ ? store_->experiment(name, file) : 0;
}

void RunRecord::mark_dead_runs() {
  if (store_) store_->mark_dead_runs(host_name());
}

std::optional<int64_t> RunRecord::finished_run(int64_t experiment, const std::string& hash) {
  return store_ ? store_->finished_run(experiment, hash) : std::nullopt;
}

std::string RunRecord::tokens_sha256(int64_t run) {
  std::string used;
  if (store_)
    store_->query("SELECT sha256 FROM artifacts WHERE run_id = ? AND kind = 'tokens' ORDER BY id",
                  {std::to_string(run)}, [&](auto&, const auto& v) { used = v[0]; });
  return used;
}

int64_t RunRecord::begin_run(int64_t experiment, const RunConfig& rc, const Provenance& prov) {
  if (!store_) return 0;
  const int64_t run = store_->begin_run(experiment, rc.label, rc.hash, rc.pretrain_hash,
                                        rc.canonical, rc.at("experiment").get_int("seed"), prov);
  for (const auto& p : rc.plugins) store_->plugin(run, p.kind, p.name, p.version, p.sha256, p.path);
  return run;
}

void RunRecord::end_run(int64_t run, const std::string& status, const std::string& error) {
  if (store_) store_->end_run(run, status, error);
}

void RunRecord::metric(int64_t run, int64_t step, const std::string& name, double value) {
  if (store_) store_->metric(run, step, name, value);
}

std::vector<int64_t> RunRecord::continue_attempts(int64_t run, const std::string& pretrain_hash) {
  return store_ ? store_->continue_attempts(run, pretrain_hash) : std::vector<int64_t>{};
}

std::optional<Evaluation> RunRecord::find_evaluation(const std::string& hash) {
  return store_ ? store_->find_evaluation(hash) : std::nullopt;
}

void RunRecord::copy_evaluation(int64_t run, const Evaluation& from, const std::string& metrics) {
  if (store_) store_->copy_evaluation(run, from, metrics);
}

void RunRecord::evaluation(const Evaluation& e) {
  if (store_) store_->evaluation(e);
}

}  // namespace wb
