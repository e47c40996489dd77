#pragma once
// The results store: one SQLite file (results/results.db by default), WAL mode,
// foreign keys on, a busy timeout so concurrent writers wait instead of failing,
// and a schema versioned with PRAGMA user_version and upgraded by forward migrations.
// docs/results-schema.md describes every table.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace wb {

// Where a run came from: enough to trace any number to the code and machine.
struct Provenance {
  std::string git_commit;
  bool git_dirty = false;
  std::string workbench_version;
  std::string torch_version;
  std::string device;
  int64_t threads = 0;
  std::string host;
  int64_t pid = 0;
  std::string command_line;
};

struct RunRow {
  int64_t id = 0;
  std::string experiment, label, config_hash, pretrain_hash, config, status, error;
  std::string started_at, ended_at, git_commit, device, host;
  int64_t seed = 0;
  std::string note;               // `results note`
  bool archived = false;          // `results archive`
  std::vector<std::string> tags;  // `results tag`, sorted
};

// One evaluation a run holds: an evaluator's results (or the checkpoint's whole-split
// validation), the prefix of its metrics' names, and the run that computed it.
struct Evaluation {
  int64_t run = 0;
  std::string name, hash, metrics;
  double seconds = 0;
  int64_t computed_by = 0;  // 0: that run has been deleted
};

class Store {
 public:
  static constexpr int kSchemaVersion = 4;

  explicit Store(const std::string& path);
  // A store to read from (an error naming the path when there is none), opened
  // read-only whatever the permissions: nothing is written (no migration, no WAL
  // switch, no dead runs marked), and a store whose WAL files cannot be made is read
  // as immutable. A store of another schema version is refused with what to do.
  // Listing, showing, tables, checks and reports read through it.
  static std::unique_ptr<Store> open_for_reading(const std::string& path);
  static std::unique_ptr<Store> open_read_only(const std::string& path);
  bool read_only() const { return read_only_; }
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  const std::string& path() const { return path_; }
  int schema_version();
  // The schema version of the store at `path`, read without writing to it (a store
  // opened as a Store is brought up to date and switched to WAL; a file someone only
  // reads from must stay as it was). 0: an SQLite file without a workbench schema.
  static int file_schema_version(const std::string& path);

  int64_t experiment(const std::string& name, const std::string& file);
  // The id of a finished run of this experiment with this config hash, if any (a sweep
  // resumes past it). Another experiment with the same config still gets its own run
  // row, for its own tables; it reuses the cached checkpoint and features.
  std::optional<int64_t> finished_run(int64_t experiment_id, const std::string& config_hash);
  int64_t begin_run(int64_t experiment_id, const std::string& label, const std::string& config_hash,
                    const std::string& pretrain_hash, const std::string& config, int64_t seed,
                    const Provenance& prov);
  // status: "finished", "failed" or "interrupted".
  void end_run(int64_t run, const std::string& status, const std::string& error = "");
  // Runs left "running" by a process of this host that no longer exists: interrupted.
  int mark_dead_runs(const std::string& host);
  // Runs left "running" by process `pid` of `host`: closed as failed with `message`
  // (a data-parallel launcher closes the runs of a worker that died). Returns how many.
  int fail_open_runs(const std::string& host, int64_t pid, const std::string& message);

  // A researcher's words on a run (an error naming the run when there is none):
  // tag (kept once), note (replacing the last), archived (hidden from latest_runs).
  void tag(int64_t run, const std::string& tag);
  void note(int64_t run, const std::string& text);
  void archive(int64_t run, bool archived);

  void metric(int64_t run, int64_t step, const std::string& name, double value);
  void result(int64_t run, const std::string& evaluator, const std::string& evaluator_hash,
              const std::string& metric, int64_t layer, const std::string& split, double value);
  // A run that resumes pretraining from an earlier attempt's checkpoint: records the
  // unfinished attempts at this checkpoint it continues (newest back to the one that
  // started the training) in run_attempts, and copies their training curves (train/*)
  // onto this run, so the finished run holds its whole curve. Returns their ids.
  std::vector<int64_t> continue_attempts(int64_t run, const std::string& pretrain_hash);
  // An evaluation `run` finished itself (computed_by = run) or copied
  // (copy_evaluation).
  void evaluation(const Evaluation& e);
  // The latest evaluation of any run with this hash, if any.
  std::optional<Evaluation> find_evaluation(const std::string& hash);
  // Copies evaluation `from` onto `run`: its result rows, and its metrics with their
  // prefix from.metrics renamed to `metrics` (the evaluator's place in this run's file
  // may differ: "finetune#2/"); recorded as computed by from's computing run.
  void copy_evaluation(int64_t run, const Evaluation& from, const std::string& metrics);
  std::vector<Evaluation> evaluations(int64_t run);
  // A plugin the run used: its name, version and library (path and SHA-256).
  void plugin(int64_t run, const std::string& kind, const std::string& name,
              const std::string& version, const std::string& sha256, const std::string& path);
  void artifact(int64_t run, const std::string& kind, const std::string& key,
                const std::string& path, const std::string& sha256, int64_t bytes);

  std::vector<RunRow> runs(const std::string& experiment = "");
  std::optional<RunRow> run(int64_t id);

  // Runs a query, calling `row` with the column names and text values of each row.
  void query(const std::string& sql, const std::vector<std::string>& args,
             const std::function<void(const std::vector<std::string>& columns,
                                      const std::vector<std::string>& values)>& row);
  void exec(const std::string& sql);
  // One user-written query (a check's SQL): refused unless it is a single statement
  // that reads only (SELECT, WITH, VALUES; sqlite3_stmt_readonly). Errors without the
  // store's path (the caller names the check).
  void query_read_only(const std::string& sql,
                       const std::function<void(const std::vector<std::string>& columns,
                                                const std::vector<std::string>& values)>& row);

 private:
  struct ReadOnly {};
  Store(const std::string& path, ReadOnly);
  void migrate();
  sqlite3_stmt* prepare(const std::string& sql);
  std::string path_;
  bool read_only_ = false;
  sqlite3* db_ = nullptr;
};

std::string utc_now();

}  // namespace wb
