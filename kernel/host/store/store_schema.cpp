// The store's schema: its migrations and the version check that refuses a newer file.
#include <fmt/format.h>
#include <sqlite3.h>

#include <workbench/error.hpp>

#include "store/sqlite_statement.hpp"
#include "store/store.hpp"

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
    // 3: a researcher's own words on runs: tags, a note, and archiving, which hides a
    // run from latest_runs (and so from tables, SQL files and reports) without deleting
    // it; the latest unarchived finished run of the config counts instead.
    R"sql(
ALTER TABLE runs ADD COLUMN note TEXT;
ALTER TABLE runs ADD COLUMN archived INTEGER NOT NULL DEFAULT 0;
CREATE TABLE run_tags(
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  tag    TEXT NOT NULL,
  PRIMARY KEY (run_id, tag)) WITHOUT ROWID;
DROP VIEW IF EXISTS latest_results;
DROP VIEW IF EXISTS latest_runs;
CREATE VIEW latest_runs AS
SELECT r.id AS run_id, e.name AS experiment, r.label, r.config_hash, r.config
FROM runs r JOIN experiments e ON e.id = r.experiment_id
WHERE r.status = 'finished' AND r.archived = 0 AND r.id = (
  SELECT MAX(x.id) FROM runs x WHERE x.experiment_id = r.experiment_id
    AND x.config_hash = r.config_hash AND x.status = 'finished' AND x.archived = 0);
CREATE VIEW latest_results AS
SELECT * FROM run_results WHERE run_id IN (SELECT run_id FROM latest_runs);
)sql",
    // 4: a run's evaluations, each keyed by what determines it (an evaluator's config
    // and code with the checkpoint's key; the whole-split validation by the checkpoint's
    // key): a run whose evaluation was made before copies its rows and says from where.
    R"sql(
CREATE TABLE run_evaluations(
  run_id      INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  name        TEXT NOT NULL,
  hash        TEXT NOT NULL,
  metrics     TEXT NOT NULL,
  seconds     REAL NOT NULL,
  computed_by INTEGER REFERENCES runs(id) ON DELETE SET NULL,
  PRIMARY KEY (run_id, hash));
CREATE INDEX run_evaluations_by_hash ON run_evaluations(hash);
)sql",
};

}  // namespace

int Store::schema_version() {
  int v = 0;
  query("PRAGMA user_version", {}, [&](auto&, const auto& values) { v = std::stoi(values[0]); });
  return v;
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

}  // namespace wb
