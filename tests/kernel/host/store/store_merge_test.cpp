// `workbench results merge`: a sweep split over two machines with --shard and merged
// equals the sweep run whole; merging again adds nothing; artifacts come along.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include <sqlite3.h>

#include "distributed/shard.hpp"
#include "platform/hash.hpp"
#include "run/runner.hpp"
#include "store/store_merge.hpp"
#include "test_support.hpp"

namespace {

// Four tiny AR runs on the pattern dataset at `data_dir`, a probe each, at learning
// rates lr0, 2 lr0, 3 lr0, 4 lr0.
std::string sweep_experiment(const std::string& data_dir, double lr0) {
  return "[experiment]\nname = \"sweep\"\nthreads = 2\n" +
         wbtest::minimal_experiment(fmt::format(
             "path = \"{}\"\nresolution = 7\nmax_train = 200\nmax_eval = 100", data_dir)) +
         fmt::format(R"(
[training]
steps = 4
batch_size = 16
warmup_steps = 1
[[evaluators]]
plugin = "linear_probe"
l2_steps = 1
max_iter = 20
[sweep.training]
lr = [{}, {}, {}, {}]
)",
                     lr0, 2 * lr0, 3 * lr0, 4 * lr0);
}

// "label|config hash|evaluator hash|metric|layer|split" -> value, of every result row.
std::map<std::string, std::string> result_rows(wb::Store& s) {
  std::map<std::string, std::string> rows;
  s.query(
      "SELECT r.label, r.config_hash, x.evaluator_hash, x.metric, x.layer, x.split, x.value "
      "FROM results x JOIN runs r ON r.id = x.run_id",
      {}, [&](auto&, const auto& v) {
        rows[v[0] + "|" + v[1] + "|" + v[2] + "|" + v[3] + "|" + v[4] + "|" + v[5]] = v[6];
      });
  return rows;
}

}  // namespace

TEST(StoreMerge, ASweepSplitInSharesAndMergedEqualsTheSweepRunWhole) {
  wbtest::TempDir dir;
  wbtest::write_pattern_dataset(dir / "data", 300, 100);
  // A run's share follows its hash, which changes with the schema and the LibTorch
  // build: take the first learning rates that give both shares a run.
  wb::Experiment exp;
  for (double lr0 = 1e-3;; lr0 += 1e-4) {
    exp = wb::parse_experiment(sweep_experiment(dir / "data", lr0), dir / "sweep.toml", {},
                               wbtest::plugins());
    if (!wb::select_shard(exp, {0, 2}).runs.empty() && !wb::select_shard(exp, {1, 2}).runs.empty())
      break;
    ASSERT_LT(lr0, 3e-3) << "no sweep with runs in both shares";
  }
  ASSERT_EQ(exp.runs.size(), 4u);
  for (const std::string d : {"whole", "share0", "share1", "merged"})
    std::filesystem::create_directories(dir / d);

  wb::Store whole(dir / "whole/results.db");
  ASSERT_TRUE(wb::run_experiment(exp, whole, wbtest::plugins(), {}).ok());
  for (int64_t i = 0; i < 2; ++i) {
    wb::Store share(dir / fmt::format("share{}/results.db", i));
    auto part = wb::select_shard(exp, {i, 2});
    ASSERT_TRUE(wb::run_experiment(part, share, wbtest::plugins(), {}).ok());
  }

  wb::Store merged(dir / "merged/results.db");
  int64_t added = 0;
  for (int64_t i = 0; i < 2; ++i)
    added += wb::merge_store(merged, dir / fmt::format("share{}/results.db", i)).runs_added;
  EXPECT_EQ(added, 4);
  EXPECT_EQ(result_rows(merged), result_rows(whole));
  // Per run: accuracy at 3 layers x 3 splits, l2 at 3 layers, best_layer, and
  // best_layer_accuracy on val and test.
  EXPECT_EQ(result_rows(merged).size(), 4u * 15);

  // Again: the same attempts are already there.
  auto again = wb::merge_store(merged, dir / "share0/results.db");
  EXPECT_EQ(again.runs_added, 0);
  EXPECT_GT(again.runs_present, 0);
  EXPECT_EQ(merged.runs("sweep").size(), 4u);

  // Every artifact row points at a file under the merged store's folder, intact.
  int files = 0;
  merged.query("SELECT path, sha256 FROM artifacts", {}, [&](auto&, const auto& v) {
    ++files;
    EXPECT_EQ(v[0].rfind(dir / "merged/artifacts/", 0), 0u) << v[0];
    EXPECT_EQ(wb::sha256_file(v[0]), v[1]) << v[0];
  });
  EXPECT_GT(files, 0);
}

// A resumed run keeps the link to its earlier attempts through a merge, between the
// runs' new ids (a target that already holds other runs numbers them differently).
TEST(StoreMerge, AResumedRunsAttemptsComeAlongUnderTheirNewIds) {
  wbtest::TempDir dir;
  wb::Provenance prov;
  int64_t first = 0, second = 0;
  {
    wb::Store src(dir / "src.db");
    const int64_t exp = src.experiment("resumed", "resumed.toml");
    prov.host = "a";
    prov.pid = 1;
    first = src.begin_run(exp, "default", "cfg", "pre", "", 0, prov);
    src.metric(first, 5, "train/loss", 1.5);
    src.end_run(first, "interrupted", "stopped");
    prov.pid = 2;
    second = src.begin_run(exp, "default", "cfg", "pre", "", 0, prov);
    EXPECT_EQ(src.continue_attempts(second, "pre"), std::vector<int64_t>{first});
    src.end_run(second, "finished");
  }
  wb::Store into(dir / "into.db");
  {  // a run of its own first, so the merged ones get other ids
    prov.host = "b";
    const int64_t exp = into.experiment("other", "other.toml");
    into.end_run(into.begin_run(exp, "default", "x", "y", "", 0, prov), "finished");
  }
  const auto summary = wb::merge_store(into, dir / "src.db");
  EXPECT_EQ(summary.runs_added, 2);
  EXPECT_EQ(wbtest::one(into, "SELECT run_id || '<-' || attempt_id FROM run_attempts"), "3<-2");
  EXPECT_EQ(wbtest::one(into, "SELECT status FROM runs WHERE id = 2"), "interrupted");
  // Merging again adds neither runs nor links.
  wb::merge_store(into, dir / "src.db");
  EXPECT_EQ(wbtest::count(into, "SELECT COUNT(*) FROM run_attempts"), 1);
}

TEST(StoreMerge, AMissingStoreIsNamed) {
  wbtest::TempDir dir;
  wb::Store into(dir / "results.db");
  try {
    wb::merge_store(into, dir / "nowhere.db");
    FAIL() << "expected an error";
  } catch (const wb::Error& e) {
    EXPECT_NE(std::string(e.what()).find("nowhere.db"), std::string::npos) << e.what();
  }
}

// A file that is not a results store (a typo on the command line) is refused before
// anything is written, and stays byte for byte as it was: merge only reads its sources.
TEST(StoreMerge, AnSqliteFileThatIsNotAResultsStoreIsRefusedAndLeftUntouched) {
  wbtest::TempDir dir;
  const std::string other = dir / "notes.sqlite";
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(other.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE notes(text TEXT); INSERT INTO notes VALUES('x')",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  const std::string before = wb::sha256_file(other);

  wb::Store into(dir / "results.db");
  try {
    wb::merge_store(into, other);
    FAIL() << "expected an error";
  } catch (const wb::Error& e) {
    EXPECT_NE(std::string(e.what()).find("notes.sqlite: not a workbench results store"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(wb::sha256_file(other), before);
  EXPECT_EQ(wb::Store::file_schema_version(other), 0);
  EXPECT_FALSE(std::filesystem::exists(other + "-wal"));
  EXPECT_TRUE(into.runs().empty());

  const std::string text = dir / "notes.txt";
  std::ofstream(text) << "not a database at all, just some text that is long enough\n";
  EXPECT_THROW(wb::merge_store(into, text), wb::Error);
}

const char* kLaterTable =
    "CREATE TABLE run_later(run_id INTEGER NOT NULL REFERENCES runs(id), earlier INTEGER "
    "REFERENCES runs(id), note TEXT)";

// Every table of the schema comes through a merge. The source holds a row in each
// table the schema has; a table added to the schema fails here until this test writes
// a row into it and merge_store carries it.
TEST(StoreMerge, CarriesEveryTableOfTheSchema) {
  wbtest::TempDir dir;
  {
    wb::Store src(dir / "src.db");
    const int64_t exp = src.experiment("all", "all.toml");
    wb::Provenance prov;
    prov.pid = 1;
    const int64_t first = src.begin_run(exp, "default", "cfg", "pre", "[experiment]\n", 0, prov);
    src.end_run(first, "interrupted", "stopped");
    prov.pid = 2;
    const int64_t run = src.begin_run(exp, "default", "cfg", "pre", "[experiment]\n", 0, prov);
    src.continue_attempts(run, "pre");                                     // run_attempts
    src.metric(run, 1, "train/loss", 2.0);                                 // metrics
    src.result(run, "linear_probe", "h", "accuracy", 0, "test", 0.5);      // results
    src.plugin(run, "model", "igpt", "1", std::string(64, 'a'), "/x.so");  // run_plugins
    src.artifact(run, "tokens", "k", "/nowhere/tokens.pt", std::string(64, 'b'), 1);
    src.tag(run, "kept");                                                   // run_tags
    src.evaluation({run, "linear_probe", "h", "linear_probe/", 1.5, run});  // run_evaluations
    src.end_run(run, "finished");
    // A table the schema does not have yet, as a later migration would add it: merge
    // carries it from what the schema says (its reference to runs), with no edit.
    src.exec(kLaterTable);
    src.query("INSERT INTO run_later(run_id, earlier, note) VALUES (?, ?, NULL)",
              {std::to_string(run), std::to_string(first)}, [](auto&, auto&) {});
  }
  std::vector<std::string> tables;
  {
    wb::Store src(dir / "src.db");
    src.query(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "ORDER BY name",
        {}, [&](auto&, const auto& v) { tables.push_back(v[0]); });
    for (const auto& t : tables)
      ASSERT_GT(wbtest::count(src, "SELECT COUNT(*) FROM " + t), 0)
          << "table " << t << " has no row in this test's source store: write one above";
  }
  wb::Store into(dir / "into.db");
  into.exec(kLaterTable);
  wb::merge_store(into, dir / "src.db");
  wb::Store src(dir / "src.db");
  // Both references renumbered (the runs came in as 1 and 2), NULL kept NULL.
  EXPECT_EQ(wbtest::one(into,
                        "SELECT run_id || ' ' || earlier || ' ' || (note IS NULL) FROM "
                        "run_later"),
            "2 1 1");
  for (const auto& t : tables)
    EXPECT_EQ(wbtest::count(into, "SELECT COUNT(*) FROM " + t),
              wbtest::count(src, "SELECT COUNT(*) FROM " + t))
        << "results merge does not carry table " << t;
}
