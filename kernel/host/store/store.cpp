#include "store/store.hpp"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <memory>
#include <thread>

#include <fmt/format.h>
#include <sqlite3.h>

#include <workbench/error.hpp>

namespace wb {

namespace {

// Forward migrations: entry i takes the schema from version i to version i + 1.
// Never edit a released entry; append a new one.
const std::vector<const char*> kMigrations = {
    R"sql(
CREATE TABLE experiments(
  id         INTEGER PRIMARY KEY,
  name       TEXT NOT NULL UNIQUE,
  file       TEXT,
  created_at TEXT NOT NULL);
CREATE TABLE runs(
  id                INTEGER PRIMARY KEY,
  experiment_id     INTEGER NOT NULL REFERENCES experiments(id),
  label             TEXT NOT NULL,
  config_hash       TEXT NOT NULL,
  pretrain_hash     TEXT NOT NULL,
  config            TEXT NOT NULL,
  seed              INTEGER NOT NULL,
  status            TEXT NOT NULL CHECK (status IN ('running', 'finished', 'failed', 'interrupted')),
  error             TEXT,
  started_at        TEXT NOT NULL,
  ended_at          TEXT,
  git_commit        TEXT,
  git_dirty         INTEGER,
  workbench_version TEXT,
  torch_version     TEXT,
  device            TEXT,
  threads           INTEGER,
  host              TEXT,
  pid               INTEGER,
  command_line      TEXT);
CREATE INDEX runs_by_hash ON runs(config_hash, status);
CREATE TABLE metrics(
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  name   TEXT NOT NULL,
  step   INTEGER NOT NULL,
  value  REAL,
  PRIMARY KEY (run_id, name, step)) WITHOUT ROWID;
CREATE TABLE results(
  id             INTEGER PRIMARY KEY,
  run_id         INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  evaluator      TEXT NOT NULL,
  evaluator_hash TEXT NOT NULL,
  metric         TEXT NOT NULL,
  layer          INTEGER,
  split          TEXT,
  value          REAL,
  UNIQUE (run_id, evaluator_hash, metric, layer, split));
CREATE TABLE artifacts(
  id         INTEGER PRIMARY KEY,
  run_id     INTEGER REFERENCES runs(id) ON DELETE SET NULL,
  kind       TEXT NOT NULL,
  key        TEXT NOT NULL,
  path       TEXT NOT NULL,
  sha256     TEXT NOT NULL,
  bytes      INTEGER NOT NULL,
  created_at TEXT NOT NULL);
CREATE VIEW metric_summaries AS
SELECT run_id, name, COUNT(*) AS points,
  (SELECT value FROM metrics a WHERE a.run_id = m.run_id AND a.name = m.name ORDER BY step LIMIT 1) AS first,
  MIN(step) AS first_step,
  (SELECT value FROM metrics a WHERE a.run_id = m.run_id AND a.name = m.name ORDER BY step DESC LIMIT 1) AS last,
  MAX(step) AS last_step,
  MIN(value) AS min,
  (SELECT step FROM metrics a WHERE a.run_id = m.run_id AND a.name = m.name ORDER BY value, step LIMIT 1) AS min_step,
  MAX(value) AS max,
  (SELECT step FROM metrics a WHERE a.run_id = m.run_id AND a.name = m.name ORDER BY value DESC, step LIMIT 1) AS max_step
FROM metrics m GROUP BY run_id, name;
CREATE VIEW run_results AS
SELECT e.name AS experiment, r.label, r.id AS run_id, r.config_hash, r.status,
       s.evaluator, s.evaluator_hash, s.metric, s.layer, s.split, s.value
FROM results s JOIN runs r ON r.id = s.run_id JOIN experiments e ON e.id = r.experiment_id;
)sql",
    // 2: which plugin code each run used; which earlier attempts a resumed run continues.
    R"sql(
CREATE TABLE run_attempts(
  run_id     INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  attempt_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  PRIMARY KEY (run_id, attempt_id)) WITHOUT ROWID;
CREATE TABLE run_plugins(
  run_id  INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  kind    TEXT NOT NULL,
  name    TEXT NOT NULL,
  version TEXT NOT NULL,
  sha256  TEXT NOT NULL,
  path    TEXT NOT NULL,
  PRIMARY KEY (run_id, kind, name)) WITHOUT ROWID;
-- The one definition of "the runs that count": the latest finished run of each config
-- of each experiment (a --force redo replaces the earlier one). Tables, the SQL files
-- in results/ and reports read these.
CREATE VIEW latest_runs AS
SELECT r.id AS run_id, e.name AS experiment, r.label, r.config_hash, r.config
FROM runs r JOIN experiments e ON e.id = r.experiment_id
WHERE r.status = 'finished' AND r.id = (
  SELECT MAX(x.id) FROM runs x WHERE x.experiment_id = r.experiment_id
    AND x.config_hash = r.config_hash AND x.status = 'finished');
CREATE VIEW latest_results AS
SELECT * FROM run_results WHERE run_id IN (SELECT run_id FROM latest_runs);
)sql",
};

struct StmtDeleter {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Stmt = std::unique_ptr<sqlite3_stmt, StmtDeleter>;

void bind(sqlite3_stmt* s, int i, const std::string& v) {
  sqlite3_bind_text(s, i, v.c_str(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
}
void bind(sqlite3_stmt* s, int i, int64_t v) {
  sqlite3_bind_int64(s, i, v);
}
void bind(sqlite3_stmt* s, int i, double v) {
  sqlite3_bind_double(s, i, v);
}
void bind(sqlite3_stmt* s, int i, bool v) {
  sqlite3_bind_int(s, i, v ? 1 : 0);
}
void bind(sqlite3_stmt* s, int i, int v) {
  sqlite3_bind_int64(s, i, v);
}
void bind(sqlite3_stmt* s, int i, const char* v) {
  bind(s, i, std::string(v));
}

template <class... A>
void bind_all(sqlite3_stmt* s, const A&... args) {
  int i = 0;
  (bind(s, ++i, args), ...);
}

std::string column_text(sqlite3_stmt* s, int i) {
  auto p = sqlite3_column_text(s, i);
  return p ? reinterpret_cast<const char*>(p) : "";
}

}  // namespace

std::string utc_now() {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Store::Store(const std::string& path) : path_(path) {
  auto parent = std::filesystem::path(path).parent_path();
  std::error_code ec;
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw Error(fmt::format("{}: cannot open results store: {}", path, msg));
  }
  // Concurrent writers (a sweep in two terminals) wait for each other up to a minute.
  sqlite3_busy_timeout(db_, 60000);
  try {
    // Switching a new file to WAL takes an exclusive lock for which SQLite does not
    // always call the busy handler (while another connection creates or recovers the
    // file it can answer SQLITE_BUSY at once), so this one statement retries itself for
    // as long as the busy timeout. Seen once as a failed child of
    // Store.TwoProcessesWriteOneStoreAtOnce under ctest -j 2.
    for (auto start = std::chrono::steady_clock::now();;) {
      const int rc = sqlite3_exec(db_, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr);
      if (rc == SQLITE_OK) break;
      if ((rc != SQLITE_BUSY && rc != SQLITE_LOCKED) ||
          std::chrono::steady_clock::now() - start > std::chrono::seconds(60))
        throw Error(fmt::format("{}: cannot switch to WAL: {}", path_, sqlite3_errmsg(db_)));
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    exec("PRAGMA foreign_keys=ON");
    exec("PRAGMA synchronous=NORMAL");
    migrate();
  } catch (...) {
    sqlite3_close(db_);
    db_ = nullptr;
    throw;
  }
}

namespace {
// A read-only connection, or null with `error` set. mode=ro reads a WAL store whose
// -shm file exists or can be made; immutable=1 reads one in a folder nobody may write
// (so nobody writes the store meanwhile either).
sqlite3* open_read_only_connection(const std::string& path, std::string* error) {
  for (const char* mode : {"mode=ro", "immutable=1"}) {
    sqlite3* db = nullptr;
    const std::string uri = fmt::format("file:{}?{}", path, mode);
    if (sqlite3_open_v2(uri.c_str(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, nullptr) ==
            SQLITE_OK &&
        sqlite3_exec(db, "SELECT COUNT(*) FROM sqlite_master", nullptr, nullptr, nullptr) ==
            SQLITE_OK)
      return db;
    *error = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
  }
  return nullptr;
}
}  // namespace

Store::Store(const std::string& path, ReadOnly) : path_(path), read_only_(true) {
  std::string error;
  db_ = open_read_only_connection(path, &error);
  if (!db_) throw Error(fmt::format("{}: cannot read as a results store: {}", path, error));
  const int v = schema_version();
  if (v <= 0 || v > kSchemaVersion) {
    sqlite3_close(db_);
    db_ = nullptr;
    throw Error(v <= 0 ? fmt::format("{}: cannot read as a results store (read-only)", path)
                       : fmt::format("{}: results store has schema version {}, newer than this "
                                     "workbench's {}; use a newer workbench",
                                     path, v, kSchemaVersion));
  }
}

std::unique_ptr<Store> Store::open_for_reading(const std::string& path) {
  // Reading never creates a store (Store(path) would, empty).
  if (!std::filesystem::exists(path))
    throw Error(
        fmt::format("{}: no results store here (run an experiment first, or pass --db)", path));
  const auto parent = std::filesystem::absolute(path).parent_path();
  if (::access(path.c_str(), W_OK) == 0 && ::access(parent.c_str(), W_OK) == 0)
    return std::make_unique<Store>(path);
  return open_read_only(path);
}

std::unique_ptr<Store> Store::open_read_only(const std::string& path) {
  return std::unique_ptr<Store>(new Store(path, ReadOnly{}));
}

Store::~Store() {
  if (db_) sqlite3_close(db_);
}

void Store::exec(const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    throw Error(fmt::format("{}: {}", path_, msg));
  }
}

sqlite3_stmt* Store::prepare(const std::string& sql) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr) != SQLITE_OK)
    throw Error(fmt::format("{}: {} (in: {})", path_, sqlite3_errmsg(db_), sql));
  return s;
}

int Store::schema_version() {
  int v = 0;
  query("PRAGMA user_version", {}, [&](auto&, const auto& values) { v = std::stoi(values[0]); });
  return v;
}

int Store::file_schema_version(const std::string& path) {
  std::string msg;
  sqlite3* db = open_read_only_connection(path, &msg);
  int version = -1;
  sqlite3_stmt* stmt = nullptr;
  if (db && sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt, nullptr) == SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW)
    version = sqlite3_column_int(stmt, 0);
  if (db && version < 0) msg = sqlite3_errmsg(db);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  if (version < 0) throw Error(fmt::format("{}: cannot read as a results store: {}", path, msg));
  return version;
}

void Store::migrate() {
  // IMMEDIATE takes the write lock first, so two processes opening a new file do not
  // both create the tables.
  exec("BEGIN IMMEDIATE");
  try {
    int v = schema_version();
    if (v > kSchemaVersion)
      throw Error(
          fmt::format("{}: results store has schema version {}, newer than this "
                      "workbench's {}; use a newer workbench",
                      path_, v, kSchemaVersion));
    for (; v < kSchemaVersion; ++v) exec(kMigrations[v]);
    exec(fmt::format("PRAGMA user_version = {}", kSchemaVersion));
    exec("COMMIT");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

void Store::query(const std::string& sql, const std::vector<std::string>& args,
                  const std::function<void(const std::vector<std::string>&,
                                           const std::vector<std::string>&)>& row) {
  Stmt s(prepare(sql));
  for (size_t i = 0; i < args.size(); ++i) bind(s.get(), static_cast<int>(i + 1), args[i]);
  std::vector<std::string> cols;
  for (int i = 0; i < sqlite3_column_count(s.get()); ++i)
    cols.push_back(sqlite3_column_name(s.get(), i));
  int rc;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
    std::vector<std::string> values;
    for (int i = 0; i < static_cast<int>(cols.size()); ++i)
      values.push_back(column_text(s.get(), i));
    row(cols, values);
  }
  if (rc != SQLITE_DONE) throw Error(fmt::format("{}: {}", path_, sqlite3_errmsg(db_)));
}

namespace {
template <class... A>
void run_stmt(sqlite3* db, sqlite3_stmt* raw, const std::string& path, const A&... args) {
  Stmt s(raw);
  bind_all(s.get(), args...);
  if (sqlite3_step(s.get()) != SQLITE_DONE)
    throw Error(fmt::format("{}: {}", path, sqlite3_errmsg(db)));
}
}  // namespace

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
    "COALESCE(r.device, ''), COALESCE(r.host, ''), r.seed FROM runs r JOIN experiments e ON "
    "e.id = r.experiment_id ";
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

std::optional<RunRow> Store::run(int64_t id) {
  std::optional<RunRow> out;
  query(std::string(kRunColumns) + "WHERE r.id = ?", {std::to_string(id)},
        [&](auto&, const auto& v) { out = to_row(v); });
  return out;
}

}  // namespace wb
