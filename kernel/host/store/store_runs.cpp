// The store's records: experiments, runs and their lifecycle, metrics, results,
// attempts, plugins and artifacts, and the runs read back.
#include <signal.h>

#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <sqlite3.h>

#include <workbench/error.hpp>

#include "store/sqlite_statement.hpp"
#include "store/store.hpp"

namespace wb {

using namespace sqlite;

int64_t Store::experiment(const std::string& name, const std::string& file) {
  run_stmt(db_,
           prepare("INSERT INTO experiments(name, file, created_at) VALUES(?, ?, ?) "
                   "ON CONFLICT(name) DO UPDATE SET file = excluded.file"),
           path_, name, file, utc_now());
  int64_t id = 0;
  query("SELECT id FROM experiments WHERE name = ?", {name},
        [&](auto&, const auto& v) { id = std::stoll(v[0]); });
  return id;
}

std::optional<int64_t> Store::finished_run(int64_t experiment_id, const std::string& config_hash) {
  std::optional<int64_t> id;
  query(
      "SELECT id FROM runs WHERE experiment_id = ? AND config_hash = ? AND status = 'finished' "
      "ORDER BY id DESC LIMIT 1",
      {std::to_string(experiment_id), config_hash},
      [&](auto&, const auto& v) { id = std::stoll(v[0]); });
  return id;
}

int64_t Store::begin_run(int64_t experiment_id, const std::string& label,
                         const std::string& config_hash, const std::string& pretrain_hash,
                         const std::string& config, int64_t seed, const Provenance& p) {
  run_stmt(
      db_,
      prepare("INSERT INTO runs(experiment_id, label, config_hash, pretrain_hash, config, seed, "
              "status, started_at, git_commit, git_dirty, workbench_version, torch_version, "
              "device, threads, host, pid, command_line) "
              "VALUES(?, ?, ?, ?, ?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
      path_, experiment_id, label, config_hash, pretrain_hash, config, seed, utc_now(),
      p.git_commit, p.git_dirty, p.workbench_version, p.torch_version, p.device, p.threads, p.host,
      p.pid, p.command_line);
  return sqlite3_last_insert_rowid(db_);
}

void Store::end_run(int64_t run, const std::string& status, const std::string& error) {
  run_stmt(db_,
           prepare("UPDATE runs SET status = ?, error = NULLIF(?, ''), ended_at = ? WHERE id = ?"),
           path_, status, error, utc_now(), run);
}

int Store::mark_dead_runs(const std::string& host) {
  std::vector<std::pair<int64_t, int64_t>> running;  // run id, pid
  query("SELECT id, pid FROM runs WHERE status = 'running' AND host = ?", {host},
        [&](auto&, const auto& v) {
          running.push_back({std::stoll(v[0]), std::stoll(v[1])});
        });
  int n = 0;
  for (auto [id, pid] : running) {
    if (pid > 0 && (kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM)) continue;  // alive
    end_run(id, "interrupted", fmt::format("process {} ended without closing the run", pid));
    ++n;
  }
  return n;
}

int Store::fail_open_runs(const std::string& host, int64_t pid, const std::string& message) {
  std::vector<int64_t> open;
  query("SELECT id FROM runs WHERE status = 'running' AND host = ? AND pid = ?",
        {host, std::to_string(pid)},
        [&](auto&, const auto& v) { open.push_back(std::stoll(v[0])); });
  for (int64_t id : open) end_run(id, "failed", message);
  return static_cast<int>(open.size());
}

void Store::metric(int64_t run, int64_t step, const std::string& name, double value) {
  run_stmt(db_,
           prepare("INSERT OR REPLACE INTO metrics(run_id, name, step, value) VALUES(?, ?, ?, ?)"),
           path_, run, name, step, value);
}

void Store::result(int64_t run, const std::string& evaluator, const std::string& evaluator_hash,
                   const std::string& metric, int64_t layer, const std::string& split,
                   double value) {
  run_stmt(
      db_,
      prepare("INSERT OR REPLACE INTO results(run_id, evaluator, evaluator_hash, metric, layer, "
              "split, value) VALUES(?, ?, ?, ?, ?, ?, ?)"),
      path_, run, evaluator, evaluator_hash, metric, layer, split, value);
}

std::vector<int64_t> Store::continue_attempts(int64_t run, const std::string& pretrain_hash) {
  std::vector<int64_t> earlier, adopted;
  query(
      "SELECT id FROM runs WHERE pretrain_hash = ? AND id < ? AND status IN ('interrupted', "
      "'failed') ORDER BY id DESC",
      {pretrain_hash, std::to_string(run)},
      [&](auto&, const auto& v) { earlier.push_back(std::stoll(v[0])); });
  for (int64_t id : earlier) {
    const std::string a = std::to_string(id), r = std::to_string(run);
    query("INSERT OR IGNORE INTO run_attempts(run_id, attempt_id) VALUES(?, ?)", {r, a},
          [](auto&, auto&) {});
    // Newest first and OR IGNORE: where attempts overlap (steps logged after an
    // attempt's last checkpoint, logged again by the next), the later one's value stays.
    query(
        "INSERT OR IGNORE INTO metrics(run_id, name, step, value) SELECT ?, name, step, value "
        "FROM metrics WHERE run_id = ? AND name LIKE 'train/%'",
        {r, a}, [](auto&, auto&) {});
    adopted.push_back(id);
    bool resumed = false;  // did that attempt itself continue an earlier one?
    query("SELECT 1 FROM run_attempts WHERE run_id = ? LIMIT 1", {a},
          [&](auto&, auto&) { resumed = true; });
    if (!resumed) break;  // it started the training: the chain ends there
  }
  return adopted;
}

void Store::evaluation(const Evaluation& e) {
  run_stmt(db_,
           prepare("INSERT OR REPLACE INTO run_evaluations(run_id, name, hash, metrics, seconds, "
                   "computed_by) VALUES(?, ?, ?, ?, ?, NULLIF(?, 0))"),
           path_, e.run, e.name, e.hash, e.metrics, e.seconds, e.computed_by);
}

namespace {
const char* kEvaluationColumns =
    "SELECT run_id, name, hash, metrics, seconds, IFNULL(computed_by, 0) FROM run_evaluations ";
Evaluation to_evaluation(const std::vector<std::string>& v) {
  return {std::stoll(v[0]), v[1], v[2], v[3], std::stod(v[4]), std::stoll(v[5])};
}
}  // namespace

std::optional<Evaluation> Store::find_evaluation(const std::string& hash) {
  std::optional<Evaluation> found;
  query(std::string(kEvaluationColumns) + "WHERE hash = ? ORDER BY run_id DESC LIMIT 1", {hash},
        [&](auto&, const auto& v) { found = to_evaluation(v); });
  return found;
}

std::vector<Evaluation> Store::evaluations(int64_t run) {
  std::vector<Evaluation> out;
  query(std::string(kEvaluationColumns) + "WHERE run_id = ? ORDER BY rowid", {std::to_string(run)},
        [&](auto&, const auto& v) { out.push_back(to_evaluation(v)); });
  return out;
}

void Store::copy_evaluation(int64_t run, const Evaluation& from, const std::string& metrics) {
  const std::string to = std::to_string(run), src = std::to_string(from.run);
  exec("SAVEPOINT copy_evaluation");
  try {
    query(
        "INSERT OR REPLACE INTO results(run_id, evaluator, evaluator_hash, metric, layer, split, "
        "value) SELECT ?, evaluator, evaluator_hash, metric, layer, split, value FROM results "
        "WHERE run_id = ? AND evaluator_hash = ?",
        {to, src, from.hash}, [](auto&, auto&) {});
    // By prefix, not LIKE: metric names hold '_', LIKE's wildcard.
    query(
        "INSERT OR REPLACE INTO metrics(run_id, name, step, value) SELECT ?, ? || "
        "substr(name, length(?) + 1), step, value FROM metrics WHERE run_id = ? AND "
        "substr(name, 1, length(?)) = ?",
        {to, metrics, from.metrics, src, from.metrics, from.metrics}, [](auto&, auto&) {});
    Evaluation copy = from;
    copy.run = run;
    copy.metrics = metrics;
    evaluation(copy);
    exec("RELEASE copy_evaluation");
  } catch (...) {
    exec("ROLLBACK TO copy_evaluation");
    exec("RELEASE copy_evaluation");
    throw;
  }
}

void Store::plugin(int64_t run, const std::string& kind, const std::string& name,
                   const std::string& version, const std::string& sha256, const std::string& path) {
  run_stmt(db_,
           prepare("INSERT OR REPLACE INTO run_plugins(run_id, kind, name, version, sha256, path) "
                   "VALUES(?, ?, ?, ?, ?, ?)"),
           path_, run, kind, name, version, sha256, path);
}

void Store::artifact(int64_t run, const std::string& kind, const std::string& key,
                     const std::string& path, const std::string& sha256, int64_t bytes) {
  run_stmt(db_,
           prepare("INSERT INTO artifacts(run_id, kind, key, path, sha256, bytes, created_at) "
                   "VALUES(?, ?, ?, ?, ?, ?, ?)"),
           path_, run, kind, key, path, sha256, bytes, utc_now());
}

namespace {
const char* kRunColumns =
    "SELECT r.id, e.name, r.label, r.config_hash, r.pretrain_hash, r.config, r.status, "
    "COALESCE(r.error, ''), r.started_at, COALESCE(r.ended_at, ''), COALESCE(r.git_commit, ''), "
    "COALESCE(r.device, ''), COALESCE(r.host, ''), r.seed, COALESCE(r.note, ''), r.archived, "
    "(SELECT COALESCE(group_concat(tag, ' '), '') FROM (SELECT tag FROM run_tags t WHERE "
    "t.run_id = r.id ORDER BY tag)) FROM runs r JOIN experiments e ON e.id = r.experiment_id ";
RunRow to_row(const std::vector<std::string>& v) {
  RunRow r;
  r.id = std::stoll(v[0]);
  r.experiment = v[1];
  r.label = v[2];
  r.config_hash = v[3];
  r.pretrain_hash = v[4];
  r.config = v[5];
  r.status = v[6];
  r.error = v[7];
  r.started_at = v[8];
  r.ended_at = v[9];
  r.git_commit = v[10];
  r.device = v[11];
  r.host = v[12];
  r.seed = std::stoll(v[13]);
  r.note = v[14];
  r.archived = v[15] == "1";
  std::istringstream tags(v[16]);
  for (std::string t; tags >> t;) r.tags.push_back(t);
  return r;
}
}  // namespace

std::vector<RunRow> Store::runs(const std::string& experiment) {
  std::vector<RunRow> out;
  std::string sql =
      std::string(kRunColumns) + (experiment.empty() ? "" : "WHERE e.name = ? ") + "ORDER BY r.id";
  std::vector<std::string> args;
  if (!experiment.empty()) args.push_back(experiment);
  query(sql, args, [&](auto&, const auto& v) { out.push_back(to_row(v)); });
  return out;
}

namespace {
// Refuses a run id the store does not hold, naming the store.
void check_run(Store& store, int64_t run) {
  if (!store.run(run)) throw Error(fmt::format("{}: no run {}", store.path(), run));
}
}  // namespace

void Store::tag(int64_t run, const std::string& tag) {
  check_run(*this, run);
  if (tag.empty() || tag.find_first_of(" \t\n") != std::string::npos)
    throw Error(fmt::format("tag '{}': a tag is one word", tag));
  query("INSERT OR IGNORE INTO run_tags (run_id, tag) VALUES (?, ?)", {std::to_string(run), tag},
        [](auto&, auto&) {});
}

void Store::note(int64_t run, const std::string& text) {
  check_run(*this, run);
  query("UPDATE runs SET note = ? WHERE id = ?", {text, std::to_string(run)}, [](auto&, auto&) {});
}

void Store::archive(int64_t run, bool archived) {
  check_run(*this, run);
  query("UPDATE runs SET archived = ? WHERE id = ?", {archived ? "1" : "0", std::to_string(run)},
        [](auto&, auto&) {});
}

std::optional<RunRow> Store::run(int64_t id) {
  std::optional<RunRow> out;
  query(std::string(kRunColumns) + "WHERE r.id = ?", {std::to_string(id)},
        [&](auto&, const auto& v) { out = to_row(v); });
  return out;
}

}  // namespace wb
