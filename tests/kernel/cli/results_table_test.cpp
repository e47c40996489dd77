// `workbench results table`: runs that differ only in their seed share a column of mean
// ± std over them (n runs), whatever their labels say; `--by-seed` shows one column per
// run; a config without seed siblings keeps its own column. The store is written
// through the Store API, so the figures are known exactly.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "test_support.hpp"

namespace {

std::string config(int seed, int steps) {
  return fmt::format("[experiment]\nname = \"seeds\"\nseed = {}\n\n[training]\nsteps = {}\n", seed,
                     steps);
}

// Three seeds of one config (probe accuracy at layer 1: 0.70, 0.80, 0.90; a scalar
// 1.0, 2.0, 3.0) and one run of another config (0.50; 7.0).
void write_store(const std::string& path) {
  wb::Store store(path);
  const int64_t e = store.experiment("seeds", "seeds.toml");
  const wb::Provenance prov;
  auto add = [&](const std::string& label, int seed, int steps, double acc, double scalar) {
    const int64_t run =
        store.begin_run(e, label, fmt::format("c{}{}", seed, steps),
                        fmt::format("p{}{}", seed, steps), config(seed, steps), seed, prov);
    store.result(run, "linear_probe", "h", "accuracy", 1, "test", acc);
    store.result(run, "finetune", "h", "loss", -1, "test", scalar);
    store.end_run(run, "finished");
  };
  add("default", 0, 100, 0.70, 1.0);
  add("experiment.seed=1", 1, 100, 0.80, 2.0);  // a swept seed: named in the label
  add("default", 2, 100, 0.90, 3.0);            // a --set seed: not named
  add("training.steps=200", 0, 200, 0.50, 7.0);
}

std::string table(const wbtest::TempDir& dir, const std::string& flags) {
  std::string out;
  EXPECT_EQ(
      wbtest::run_cli(fmt::format("results table seeds --db {} {}", dir / "r.db", flags), &out), 0)
      << out;
  return out;
}

}  // namespace

TEST(ResultsTable, GroupsRunsThatDifferOnlyInSeedIntoMeanAndStd) {
  wbtest::TempDir dir;
  write_store(dir / "r.db");
  const std::string out = table(dir, "");
  // 70, 80, 90 %: mean 80.00, sample standard deviation 10.00.
  EXPECT_NE(out.find("default (n=3) test"), std::string::npos) << out;
  EXPECT_NE(out.find("80.00 ± 10.00"), std::string::npos) << out;
  EXPECT_NE(out.find("training.steps=200 #4 test"), std::string::npos) << out;
  EXPECT_NE(out.find("50.00"), std::string::npos) << out;
  EXPECT_NE(out.find("2 ± 1"), std::string::npos) << out;  // the scalar: 1, 2, 3
  EXPECT_EQ(out.find("#1"), std::string::npos) << out;
}

TEST(ResultsTable, BySeedShowsEachRunApart) {
  wbtest::TempDir dir;
  write_store(dir / "r.db");
  const std::string out = table(dir, "--by-seed");
  for (const std::string col :
       {"default #1 test", "experiment.seed=1 #2 test", "default #3 test", "training.steps=200 #4"})
    EXPECT_NE(out.find(col), std::string::npos) << col << "\n" << out;
  EXPECT_EQ(out.find("±"), std::string::npos) << out;
  EXPECT_NE(out.find("70.00"), std::string::npos) << out;
}

// The report groups seeds as the table does: one column, one line with its band, for
// runs that differ only in seed; `--by-seed` puts them apart.
TEST(Report, GroupsRunsThatDifferOnlyInSeedAndBySeedShowsThemApart) {
  if (std::system("/usr/bin/python3 -c 'import matplotlib' 2>/dev/null") != 0)
    GTEST_SKIP() << "no python3-matplotlib (bash tools/setup.sh installs it)";
  wbtest::TempDir dir;
  write_store(dir / "r.db");
  {  // each run's best layer on val: 1 for the first three, 2 for the fourth
    wb::Store store(dir / "r.db");
    for (int64_t run = 1; run <= 4; ++run) {
      store.result(run, "linear_probe", "h", "best_layer", -1, "val", run == 4 ? 2 : 1);
      store.result(run, "linear_probe", "h", "best_layer_accuracy", -1, "test", 0.6 + 0.1 * run);
    }
  }
  for (const std::string flags : {"", " --by-seed"}) {
    std::string out;
    ASSERT_EQ(wbtest::run_cli(fmt::format("report seeds --db {} --out {}{}", dir / "r.db",
                                          dir / "report", flags),
                              &out),
              0)
        << out;
    const std::string md = wbtest::read_text(dir / "report/report.md");
    const auto section = md.find("## Linear probe by layer (test)");
    ASSERT_NE(section, std::string::npos) << md;
    const auto end = md.find("\n## ", section + 1);
    const std::string text = md.substr(section, end == std::string::npos ? end : end - section);
    const std::string header = text.substr(0, text.find('\n', text.find("| layer")));
    if (flags.empty()) {
      EXPECT_NE(header.find("default (n=3)"), std::string::npos) << md;
      EXPECT_NE(text.find("| 1 | 80.00 ± 10.00 | 50.00 |"), std::string::npos) << md;
      // The best layer: one row for the three seeds, their layers listed.
      EXPECT_NE(md.find("| default (n=3) | 1, 1, 1 |  | 80.00 ± 10.00 |"), std::string::npos) << md;
    } else {
      EXPECT_EQ(header.find("(n=3)"), std::string::npos) << md;
      EXPECT_EQ(text.find("±"), std::string::npos) << md;
      EXPECT_NE(text.find("| 1 | 70.00 | 80.00 | 90.00 | 50.00 |"), std::string::npos) << md;
    }
  }
}

// `results tag`, `note` and `archive`: shown by `results` and `results show`; an
// archived run leaves the list (`--all` brings it back) and the tables, stays in the
// store, and all three survive `results merge` into another store.
TEST(ResultsAnnotations, TagsNotesAndArchiveAreShownHiddenAndMerged) {
  wbtest::TempDir dir;
  write_store(dir / "r.db");
  auto cli = [&](const std::string& args, const std::string& db = "r.db") {
    std::string out;
    EXPECT_EQ(wbtest::run_cli(fmt::format("results {} --db {}", args, dir / db), &out), 0)
        << args << "\n"
        << out;
    return out;
  };
  cli("tag 1 baseline");
  cli("tag 1 baseline");  // kept once
  cli("tag 1 paper");
  cli("note 1 'lr too high <check>'");
  cli("archive 4");
  std::string out = cli("list");
  EXPECT_NE(out.find("baseline paper"), std::string::npos) << out;
  EXPECT_NE(out.find("lr too high <check>"), std::string::npos) << out;
  EXPECT_EQ(out.find("training.steps=200"), std::string::npos) << out;
  EXPECT_NE(out.find("1 archived run not shown"), std::string::npos) << out;
  EXPECT_NE(cli("list --all").find("(archived)"), std::string::npos);
  EXPECT_EQ(cli("table seeds").find("training.steps=200"), std::string::npos);
  out = cli("show 1");
  EXPECT_NE(out.find("tags     baseline paper"), std::string::npos) << out;
  EXPECT_NE(out.find("note     lr too high <check>"), std::string::npos) << out;

  std::string refused;
  EXPECT_NE(wbtest::run_cli(fmt::format("results tag 9 x --db {}", dir / "r.db"), &refused), 0);
  EXPECT_NE(refused.find("no run 9"), std::string::npos) << refused;

  cli("merge " + dir / "r.db", "merged.db");
  wb::Store merged(dir / "merged.db");
  EXPECT_EQ(wbtest::count(merged, "SELECT COUNT(*) FROM run_tags"), 2);
  EXPECT_EQ(wbtest::one(merged, "SELECT note FROM runs WHERE note IS NOT NULL"),
            "lr too high <check>");
  EXPECT_EQ(wbtest::count(merged, "SELECT COUNT(*) FROM runs WHERE archived = 1"), 1);
  EXPECT_EQ(wbtest::count(merged, "SELECT COUNT(*) FROM latest_runs"), 3);
}
