#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>
#include <cstdio>
#include <filesystem>

#include <workbench/error.hpp>

#include "test_support.hpp"

using wb::Store;

using wbtest::count;

TEST(Store, CreatesTheCurrentSchema) {
  wbtest::TempDir dir;
  Store s(dir / "sub/results.db");  // parent folders are created
  EXPECT_EQ(s.schema_version(), Store::kSchemaVersion);
  std::string mode;
  s.query("PRAGMA journal_mode", {}, [&](auto&, const auto& v) { mode = v[0]; });
  EXPECT_EQ(mode, "wal");
  for (const char* table : {"experiments", "runs", "metrics", "results", "artifacts"})
    EXPECT_EQ(count(s, fmt::format("SELECT COUNT(*) FROM sqlite_master WHERE name = '{}'", table)),
              1)
        << table;
}

TEST(Store, RefusesAStoreFromANewerWorkbench) {
  wbtest::TempDir dir;
  {
    Store s(dir / "r.db");
    s.exec("PRAGMA user_version = 99");
  }
  try {
    Store again(dir / "r.db");
    FAIL();
  } catch (const wb::Error& e) {
    EXPECT_NE(std::string(e.what()).find(fmt::format(
                  "schema version 99, newer than this workbench's {}", Store::kSchemaVersion)),
              std::string::npos)
        << e.what();
  }
}

namespace {
// What schema version 4 added: the runs' evaluations.
void drop_version_four(Store& s) {
  s.exec("DROP TABLE run_evaluations");
}
// What schema version 3 added (and 4 after it): tags, notes, archiving (and the views
// that know them).
void drop_version_three(Store& s) {
  drop_version_four(s);
  s.exec("DROP VIEW latest_results");
  s.exec("DROP VIEW latest_runs");
  s.exec("DROP TABLE run_tags");
  s.exec("ALTER TABLE runs DROP COLUMN note");
  s.exec("ALTER TABLE runs DROP COLUMN archived");
}
}  // namespace

// A store of schema version 2 gains tags, notes and archiving when a newer workbench
// opens it, its runs kept and none archived.
TEST(Store, AVersionTwoStoreGainsTagsNotesAndArchiving) {
  wbtest::TempDir dir;
  {
    Store s(dir / "r.db");
    const int64_t e = s.experiment("old", "old.toml");
    s.end_run(s.begin_run(e, "default", "c", "p", "", 0, wb::Provenance{}), "finished");
    drop_version_three(s);
    s.exec("PRAGMA user_version = 2");
  }
  Store again(dir / "r.db");
  EXPECT_EQ(again.schema_version(), Store::kSchemaVersion);
  EXPECT_EQ(wbtest::count(again, "SELECT COUNT(*) FROM latest_runs"), 1);
  again.tag(1, "kept");
  again.archive(1, true);
  EXPECT_EQ(wbtest::count(again, "SELECT COUNT(*) FROM latest_runs"), 0);
  EXPECT_EQ(again.run(1)->tags, std::vector<std::string>{"kept"});
}

// A store of schema version 3 gains the evaluations table, and an evaluation copied
// onto a later run brings its result rows and its curve, renamed to the later run's
// place for the evaluator, and names the run that computed it.
TEST(Store, AVersionThreeStoreGainsEvaluationsThatALaterRunCopies) {
  wbtest::TempDir dir;
  {
    Store s(dir / "r.db");
    drop_version_four(s);
    s.exec("PRAGMA user_version = 3");
  }
  Store s(dir / "r.db");
  EXPECT_EQ(s.schema_version(), Store::kSchemaVersion);
  const int64_t e = s.experiment("e", "e.toml");
  const int64_t a = s.begin_run(e, "default", "c1", "p", "", 0, wb::Provenance{});
  s.result(a, "finetune", "h", "accuracy", 4, "test", 0.75);
  s.result(a, "linear_probe", "other", "accuracy", 4, "test", 0.5);
  s.metric(a, 1, "finetune/val_accuracy", 0.7);
  s.metric(a, 2, "finetune/val_accuracy", 0.75);
  s.metric(a, 1, "finetune_x/val", 9);  // another evaluator's, however alike its name
  s.evaluation({a, "finetune", "h", "finetune/", 12.5, a});
  EXPECT_FALSE(s.find_evaluation("nope"));
  const auto found = s.find_evaluation("h");
  ASSERT_TRUE(found);
  const int64_t b = s.begin_run(e, "default", "c2", "p", "", 0, wb::Provenance{});
  s.copy_evaluation(b, *found, "finetune#2/");
  EXPECT_EQ(wbtest::count(s, "SELECT COUNT(*) FROM results WHERE run_id = 2"), 1);
  EXPECT_EQ(wbtest::one(s, "SELECT value FROM results WHERE run_id = 2"), "0.75");
  EXPECT_EQ(wbtest::count(s,
                          "SELECT COUNT(*) FROM metrics WHERE run_id = 2 AND name = "
                          "'finetune#2/val_accuracy'"),
            2);
  EXPECT_EQ(wbtest::count(s, "SELECT COUNT(*) FROM metrics WHERE run_id = 2"), 2);
  const auto copied = s.evaluations(b);
  ASSERT_EQ(copied.size(), 1u);
  EXPECT_EQ(copied[0].computed_by, a);
  EXPECT_EQ(copied[0].metrics, "finetune#2/");
  EXPECT_EQ(copied[0].seconds, 12.5);
}

// A store written by the workbench of schema version 1 gains the run_plugins table
// when a newer one opens it, keeping its rows.
TEST(Store, AVersionOneStoreIsUpgradedInPlace) {
  wbtest::TempDir dir;
  {
    Store s(dir / "r.db");
    s.exec("INSERT INTO experiments(name, file, created_at) VALUES('old', 'old.toml', 'now')");
    drop_version_three(s);
    s.exec("DROP TABLE run_plugins");
    s.exec("DROP TABLE run_attempts");
    s.exec("PRAGMA user_version = 1");
  }
  Store again(dir / "r.db");
  EXPECT_EQ(again.schema_version(), Store::kSchemaVersion);
  int tables = 0, experiments = 0;
  again.query("SELECT COUNT(*) FROM sqlite_master WHERE name = 'run_plugins'", {},
              [&](auto&, const auto& v) { tables = std::stoi(v[0]); });
  again.query("SELECT COUNT(*) FROM experiments", {},
              [&](auto&, const auto& v) { experiments = std::stoi(v[0]); });
  EXPECT_EQ(tables, 1);
  EXPECT_EQ(experiments, 1);
}

TEST(Store, RunLifecycleAndSummaries) {
  wbtest::TempDir dir;
  Store s(dir / "r.db");
  int64_t exp = s.experiment("e", "e.toml");
  EXPECT_EQ(s.experiment("e", "e.toml"), exp);  // one row per name
  wb::Provenance p;
  p.git_commit = "abc";
  p.host = "h";
  int64_t run = s.begin_run(exp, "ar", "hash1", "pre1", "[x]", 7, p);
  EXPECT_FALSE(s.finished_run(exp, "hash1"));  // running is not finished
  s.metric(run, 10, "train/loss", 3.0);
  s.metric(run, 20, "train/loss", 1.0);
  s.metric(run, 30, "train/loss", 2.0);
  s.result(run, "linear_probe", "ev1", "accuracy", 2, "test", 0.8);
  s.result(run, "linear_probe", "ev1", "accuracy", 2, "test", 0.9);  // replaced, not doubled
  s.end_run(run, "finished");
  EXPECT_EQ(s.finished_run(exp, "hash1"), run);
  EXPECT_FALSE(s.finished_run(s.experiment("other", ""), "hash1"));  // per experiment
  auto row = s.run(run);
  ASSERT_TRUE(row);
  EXPECT_EQ(row->status, "finished");
  EXPECT_EQ(row->git_commit, "abc");
  EXPECT_EQ(row->seed, 7);
  EXPECT_FALSE(row->ended_at.empty());
  std::vector<std::string> summary;
  s.query(
      "SELECT first, first_step, last, last_step, min, min_step, max, max_step FROM "
      "metric_summaries WHERE run_id = ?",
      {std::to_string(run)}, [&](auto&, const auto& v) { summary = v; });
  EXPECT_EQ(summary,
            (std::vector<std::string>{"3.0", "10", "2.0", "30", "1.0", "20", "3.0", "10"}));
  EXPECT_EQ(count(s, "SELECT COUNT(*) FROM results"), 1);
  EXPECT_EQ(count(s, "SELECT value * 10 FROM run_results WHERE experiment = 'e'"), 9);
}

// A store opened read-only (a colleague's, an archive) lists and shows its runs and
// writes nothing; the CLI opens a store it may not write so (as a user other than root:
// root may write any file).
TEST(Store, AReadOnlyStoreIsReadAndNeverWritten) {
  wbtest::TempDir dir;
  {
    Store s(dir / "r.db");
    int64_t run = s.begin_run(s.experiment("e", "e.toml"), "ar", "h", "p", "[x]", 1, {});
    s.metric(run, 1, "train/loss", 2.0);
    s.end_run(run, "finished");
  }
  const auto bytes = std::filesystem::file_size(dir / "r.db");
  auto ro = Store::open_read_only(dir / "r.db");
  EXPECT_TRUE(ro->read_only());
  ASSERT_EQ(ro->runs("e").size(), 1u);
  EXPECT_EQ(ro->runs("e")[0].status, "finished");
  EXPECT_THROW(ro->metric(1, 2, "train/loss", 1.0), wb::Error);
  EXPECT_EQ(std::filesystem::file_size(dir / "r.db"), bytes);
}

TEST(Store, TheCliListsAStoreItMayNotWrite) {
  // As root, the CLI runs without capabilities (setpriv), so that permissions bind it.
  std::string as_user;
  if (geteuid() == 0) {
    if (std::system("setpriv --bounding-set=-all --inh-caps=-all true 2>/dev/null") != 0)
      GTEST_SKIP() << "root without setpriv: permissions cannot bind the CLI";
    as_user = "setpriv --bounding-set=-all --inh-caps=-all";  // run_cli's `env` runs it
  }
  wbtest::TempDir dir;
  {
    Store s(dir / "store/r.db");
    s.end_run(s.begin_run(s.experiment("e", "e.toml"), "ar", "h", "p", "[x]", 1, {}), "finished");
  }
  namespace fs = std::filesystem;
  fs::permissions(dir / "store/r.db", fs::perms::owner_read | fs::perms::group_read);
  fs::permissions(dir / "store", fs::perms::owner_read | fs::perms::owner_exec);
  std::string out;
  const int rc = wbtest::run_cli("results --db " + (dir / "store/r.db"), &out, as_user);
  const int show = wbtest::run_cli("results show 1 --db " + (dir / "store/r.db"), &out, as_user);
  fs::permissions(dir / "store", fs::perms::owner_all);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(show, 0) << out;
  EXPECT_NE(out.find("status   finished"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(dir / "store/x"));
}

TEST(Store, RunsOfDeadProcessesAreMarkedInterrupted) {
  wbtest::TempDir dir;
  Store s(dir / "r.db");
  int64_t exp = s.experiment("e", "");
  wb::Provenance dead, alive;
  dead.host = alive.host = "here";
  pid_t child = fork();
  if (child == 0) _exit(0);
  waitpid(child, nullptr, 0);  // a pid that surely ended
  dead.pid = child;
  alive.pid = getpid();
  int64_t r1 = s.begin_run(exp, "a", "h1", "p", "", 0, dead);
  int64_t r2 = s.begin_run(exp, "b", "h2", "p", "", 0, alive);
  EXPECT_EQ(s.mark_dead_runs("here"), 1);
  EXPECT_EQ(s.run(r1)->status, "interrupted");
  EXPECT_NE(s.run(r1)->error.find("ended without closing"), std::string::npos);
  EXPECT_EQ(s.run(r2)->status, "running");
}

TEST(Store, TwoProcessesWriteOneStoreAtOnce) {
  wbtest::TempDir dir;
  const std::string path = dir / "r.db";
  const int kWrites = 300;
  std::vector<pid_t> kids;
  for (int k = 0; k < 2; ++k) {
    pid_t pid = fork();
    if (pid == 0) {
      try {
        Store s(path);  // both may create the schema at the same moment
        int64_t exp = s.experiment("shared", "");
        int64_t run = s.begin_run(exp, std::to_string(k), "h" + std::to_string(k), "p", "", 0, {});
        for (int i = 0; i < kWrites; ++i) s.metric(run, i, "m", i);
        s.end_run(run, "finished");
      } catch (const std::exception& e) {
        std::fprintf(stderr, "writer %d: %s\n", k, e.what());  // why, if it ever fails
        _exit(1);
      }
      _exit(0);
    }
    kids.push_back(pid);
  }
  for (pid_t pid : kids) {
    int status = 0;
    waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  Store s(path);
  EXPECT_EQ(count(s, "SELECT COUNT(*) FROM metrics"), 2 * kWrites);
  EXPECT_EQ(count(s, "SELECT COUNT(*) FROM runs WHERE status = 'finished'"), 2);
  EXPECT_EQ(count(s, "SELECT COUNT(*) FROM experiments"), 1);
}
