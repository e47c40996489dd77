// The quickstart's whole path on a tiny setting: IDX files -> resize -> grey palette ->
// AR pretraining -> linear probe at every layer -> results store; and the CLI's
// refusals of bad input.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "platform/hash.hpp"
#include "platform/interrupt.hpp"
#include "run/runner.hpp"
#include "test_support.hpp"

namespace {

std::string tiny_experiment(const std::string& data_dir) {
  return fmt::format(R"(
[experiment]
name = "slice"
seed = 1
threads = 2

[dataset]
plugin = "fashion_mnist"
path = "{}"
resolution = 7
max_train = 400
max_eval = 200

[quantizer]
plugin = "grey"
levels = 8

[model]
plugin = "igpt"
size = "tiny"

[objective]
plugin = "ar"

[training]
steps = 40
batch_size = 16
warmup_steps = 5
val_every = 20
checkpoint_every = 20

[[evaluators]]
plugin = "linear_probe"
l2_steps = 2
max_iter = 50

[[evaluators]]
plugin = "linear_probe"
l2_steps = 2
max_iter = 50
labels_per_class = 5
subsets = 3
)",
                     data_dir);
}

using wbtest::count;
using wbtest::one;

bool has_matplotlib() {
  return std::system("/usr/bin/python3 -c 'import matplotlib' 2>/dev/null") == 0;
}

// `workbench report slice` on the store in `dir`, into dir/report; its report.md
// ("" after a failed report, which the failure names).
std::string report_markdown(const wbtest::TempDir& dir) {
  std::string out;
  const int rc = wbtest::run_cli(
      fmt::format("report slice --db {} --out {}", dir / "results.db", dir / "report"), &out);
  EXPECT_EQ(rc, 0) << out;
  if (rc != 0) return "";
  return wbtest::read_text(dir / "report/report.md");
}

}  // namespace

TEST(VerticalSlice, TrainsProbesEveryLayerRecordsAndSkipsWhenDone) {
  wbtest::TempDir dir;
  wbtest::write_pattern_dataset(dir / "data", 500, 200);
  auto exp = wb::parse_experiment(tiny_experiment(dir / "data"), dir / "slice.toml", {},
                                  wbtest::plugins());
  wb::Store store(dir / "results.db");
  auto summary = wb::run_experiment(exp, store, wbtest::plugins(), {});
  EXPECT_EQ(summary.finished, 1);
  EXPECT_TRUE(summary.ok());

  auto runs = store.runs("slice");
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].status, "finished");
  EXPECT_EQ(runs[0].config_hash, exp.runs[0].hash);
  // tiny has 2 blocks: layers 0, 1, 2, each with train/val/test accuracy, from the
  // full-data probe and from the low-data one (the mean over its 3 subsets, with std).
  EXPECT_EQ(count(store, "SELECT COUNT(*) FROM results WHERE metric = 'accuracy'"), 18);
  EXPECT_EQ(count(store, "SELECT COUNT(*) FROM results WHERE metric = 'accuracy_std'"), 9);
  EXPECT_GT(count(store,
                  "SELECT COUNT(*) FROM results WHERE metric = 'accuracy_std' AND "
                  "split = 'train' AND value > 0 OR split = 'test' AND value > 0"),
            0)
      << "3 different subsets of 5 labels per class give different probes";
  EXPECT_EQ(count(store, "SELECT COUNT(DISTINCT layer) FROM results WHERE metric = 'accuracy'"), 3);
  double best = 0;
  store.query(
      "SELECT MAX(value) FROM results WHERE metric = 'best_layer_accuracy' AND split = 'test'", {},
      [&](auto&, const auto& v) { best = std::stod(v[0]); });
  EXPECT_GT(best, 0.6) << "four easy classes; chance is 0.25";
  EXPECT_GT(count(store, "SELECT COUNT(*) FROM metrics WHERE name = 'train/val_loss'"), 0);

  // Every artifact is on disk with the checksum the store recorded.
  int artifacts = 0;
  store.query("SELECT path, sha256 FROM artifacts", {}, [&](auto&, const auto& v) {
    ++artifacts;
    EXPECT_EQ(wb::sha256_file(v[0]), v[1]) << v[0];
  });
  EXPECT_EQ(artifacts, 4);  // palette, tokens, checkpoint, features (one pass, both probes)

  // Again: the finished run is skipped.
  auto again = wb::run_experiment(exp, store, wbtest::plugins(), {});
  EXPECT_EQ(again.skipped, 1);
  EXPECT_EQ(again.finished, 0);
  EXPECT_EQ(store.runs("slice").size(), 1u);

  // --recompute remakes every artifact rather than reusing it; the run being
  // deterministic, the checkpoint comes out the same.
  const std::string ckpt_sha = one(store,
                                   "SELECT sha256 FROM artifacts WHERE kind = 'checkpoint' "
                                   "ORDER BY id LIMIT 1");
  wb::RunOptions recompute;
  recompute.force = recompute.recompute = true;
  testing::internal::CaptureStdout();
  ASSERT_EQ(wb::run_experiment(exp, store, wbtest::plugins(), recompute).finished, 1);
  const std::string log = testing::internal::GetCapturedStdout();
  EXPECT_EQ(log.find("reusing"), std::string::npos) << log;
  EXPECT_EQ(one(store,
                "SELECT sha256 FROM artifacts WHERE kind = 'checkpoint' ORDER BY id DESC "
                "LIMIT 1"),
            ckpt_sha);

  // --force redoes it from the cached checkpoint and features: the same numbers.
  wb::RunOptions force;
  force.force = true;
  auto redo = wb::run_experiment(exp, store, wbtest::plugins(), force);
  EXPECT_EQ(redo.finished, 1);
  // The redo lists the (reused) files its numbers came from, as the first run did.
  EXPECT_EQ(
      count(store, "SELECT COUNT(*) FROM artifacts GROUP BY run_id ORDER BY run_id DESC LIMIT 1"),
      4);
  EXPECT_EQ(
      count(store,
            "SELECT COUNT(*) FROM (SELECT layer, split FROM results WHERE metric = "
            "'accuracy' GROUP BY evaluator_hash, layer, split HAVING MIN(value) != MAX(value))"),
      0);

  // Each run records the plugins it used, with their code's hash, and validates its
  // checkpoint on the whole validation split, trained or reused.
  EXPECT_EQ(count(store, "SELECT COUNT(*) FROM run_plugins WHERE run_id = 1"), 5);
  EXPECT_EQ(count(store, "SELECT COUNT(*) FROM run_plugins WHERE length(sha256) = 64"), 15);
  EXPECT_EQ(count(store, "SELECT COUNT(*) FROM metrics WHERE name = 'train/final_val_loss'"), 3);
  EXPECT_EQ(count(store,
                  "SELECT COUNT(DISTINCT value) FROM metrics WHERE name = "
                  "'train/final_val_loss'"),
            1);

  // Three finished runs of one config: the tables and the SQL files count the latest.
  {
    const std::string sql =
        wbtest::read_text(std::string(WB_TEST_SOURCE_DIR) + "/../results/best_layer.sql");
    std::vector<std::string> runs_listed;
    store.query(sql, {}, [&](auto&, const auto& v) { runs_listed.push_back(v[2]); });
    EXPECT_EQ(runs_listed, (std::vector<std::string>{"3"}));
  }

  // The redo trained nothing, yet its report still gives the validation loss its
  // checkpoint was trained to (from the run that trained it).
  if (!has_matplotlib()) GTEST_SKIP() << "no python3-matplotlib (bash tools/setup.sh installs it)";
  const std::string text = report_markdown(dir);
  ASSERT_FALSE(text.empty());
  const auto section = text.find("## Best layer");
  ASSERT_NE(section, std::string::npos) << text;
  const auto row = text.find("| default |", section);  // | run | layer | val | test | bits/dim |
  ASSERT_NE(row, std::string::npos) << text;
  const std::string line = text.substr(row, text.find('\n', row) - row);
  EXPECT_EQ(line.find("|  |"), std::string::npos) << "no val bits/dim in: " << line;
}

TEST(VerticalSlice, StepsZeroIsTheRandomInitControlThatTheGainQueryAndTheReportPair) {
  wbtest::TempDir dir;
  wbtest::write_pattern_dataset(dir / "data", 500, 200);
  wb::Store store(dir / "results.db");
  for (const std::string steps : {"40", "0"}) {
    // The first probe also concatenates layers; the second reads the raw pixels; a third
    // reads region means (pool_grid): the report's sections for each, and the gain
    // query's rows for the first alone.
    auto exp = wb::parse_experiment(
        tiny_experiment(dir / "data"), dir / "slice.toml",
        {"training.steps=" + steps, "evaluators.0.concat=2", "evaluators.1.input=\"pixels\"",
         "evaluators.2.plugin=\"linear_probe\"", "evaluators.2.pool_grid=2"},
        wbtest::plugins());
    ASSERT_TRUE(wb::run_experiment(exp, store, wbtest::plugins(), {}).ok());
  }
  // The untrained model's head is zero: uniform over the 8 grey levels, 3 bits a token.
  double bits = 0;
  store.query("SELECT value FROM metrics WHERE name = 'train/val_bits_per_token' AND step = 0", {},
              [&](auto&, const auto& v) { bits = std::stod(v[0]); });
  EXPECT_NEAR(bits, 3.0, 1e-5);

  const std::string sql =
      wbtest::read_text(std::string(WB_TEST_SOURCE_DIR) + "/../results/pretraining_gain.sql");
  int rows = 0;
  store.query(sql, {}, [&](auto&, const auto& v) {
    ++rows;  // experiment, label, layer, pretrained_test, random_init_test, gain
    EXPECT_NEAR(std::stod(v[5]), std::stod(v[3]) - std::stod(v[4]), 0.011) << "layer " << v[2];
  });
  EXPECT_EQ(rows, 3) << "one row per layer (0..2) of the trained run";

  // `workbench report` draws the same pairing, with its figures (matplotlib).
  if (!has_matplotlib()) GTEST_SKIP() << "no python3-matplotlib (bash tools/setup.sh installs it)";
  const std::string text = report_markdown(dir);
  ASSERT_FALSE(text.empty());
  for (const std::string part :
       {"## Linear probe by layer", "## Gain from pretraining", "random init",
        "![probe accuracy by layer]", "## Layers concatenated", "## Raw-pixel probe"})
    EXPECT_NE(text.find(part), std::string::npos) << part << " missing from\n" << text;
  for (const std::string png : {"probe_by_layer.png", "training_curves.png"})
    EXPECT_GT(std::filesystem::file_size(dir / ("report/" + png)), 1000u) << png;
  // The region-mean probe has its own column by layer and its own best-layer rows.
  const auto by_layer = text.find("## Linear probe by layer"), best = text.find("## Best layer");
  ASSERT_NE(best, std::string::npos) << text;
  EXPECT_LT(text.find("(2x2 regions) |", by_layer), best) << text;
  EXPECT_NE(text.find("(2x2 regions) |", best), std::string::npos) << text;
  // ... and is paired with the control's probe of the same grid.
  const auto gain = text.find("## Gain from pretraining");
  EXPECT_LT(text.find("(2x2 regions) |", gain), text.find("\n## ", gain + 1)) << text;
  std::string out;
  EXPECT_NE(wbtest::run_cli(fmt::format("report nope --db {}", dir / "results.db"), &out), 0);
  EXPECT_NE(out.find("no finished run of experiment 'nope'"), std::string::npos) << out;
}

TEST(VerticalSlice, TheRandomInitControlOfARunThatKeepsItsBestCheckpointKeepsTheInitialWeights) {
  // steps = 0 validates once and never trains: with training.keep = "best" (as
  // beat_pixels.toml) the initial weights are the best checkpoint, not a missing one.
  wbtest::TempDir dir;
  wbtest::write_pattern_dataset(dir / "data", 500, 200);
  auto exp =
      wb::parse_experiment(tiny_experiment(dir / "data"), dir / "slice.toml",
                           {"training.steps=0", "training.keep=\"best\""}, wbtest::plugins());
  wb::Store store(dir / "results.db");
  auto summary = wb::run_experiment(exp, store, wbtest::plugins(), {});
  ASSERT_EQ(summary.failed, 0) << store.runs().at(0).error;
  EXPECT_EQ(count(store, "SELECT COUNT(*) FROM runs WHERE status = 'finished'"), 1);
  EXPECT_EQ(count(store, "SELECT COUNT(*) FROM results WHERE metric = 'best_layer'"), 2);
}

TEST(VerticalSlice, TwoEvaluatorsOfOnePluginKeepTheirCurvesApart) {
  wbtest::TempDir dir;
  wbtest::write_pattern_dataset(dir / "data", 500, 200);
  auto exp = wb::parse_experiment(tiny_experiment(dir / "data"), dir / "slice.toml",
                                  {"training.steps=2", "evaluators.2.plugin=\"finetune\"",
                                   "evaluators.2.epochs=1", "evaluators.3.plugin=\"finetune\"",
                                   "evaluators.3.epochs=1", "evaluators.3.loss=\"classification\""},
                                  wbtest::plugins());
  wb::Store store(dir / "results.db");
  ASSERT_TRUE(wb::run_experiment(exp, store, wbtest::plugins(), {}).ok());
  // The first keeps the plugin's name, the second is numbered; result rows of both say
  // "finetune" and are told apart by their evaluator hash.
  EXPECT_EQ(count(store, "SELECT COUNT(*) FROM metrics WHERE name = 'finetune/val_accuracy'"), 1);
  EXPECT_EQ(count(store, "SELECT COUNT(*) FROM metrics WHERE name = 'finetune#2/val_accuracy'"), 1);
  EXPECT_EQ(count(store,
                  "SELECT COUNT(DISTINCT evaluator_hash) FROM results WHERE evaluator = "
                  "'finetune'"),
            2);

  // The report gives each its own epoch rows and its own line in the figure.
  if (!has_matplotlib()) GTEST_SKIP() << "no python3-matplotlib (bash tools/setup.sh installs it)";
  const std::string text = report_markdown(dir);
  ASSERT_FALSE(text.empty());
  const auto section = text.find("## Fine-tuning by epoch");
  ASSERT_NE(section, std::string::npos) << text;
  for (const std::string row : {"| default | finetune | 1 |", "| default | finetune#2 | 1 |"})
    EXPECT_NE(text.find(row, section), std::string::npos) << row << " missing from\n" << text;
  EXPECT_GT(std::filesystem::file_size(dir / "report/finetune_curves.png"), 1000u);
}

// Per-evaluator identity: an evaluator added to a finished run's experiment file is
// all that runs. The new run reuses the checkpoint, copies the validation and the
// other evaluators' results from the run that made them (same checkpoint, config and
// code), and its kNN reads the features the linear probe extracted: no pass.
TEST(VerticalSlice, AnEvaluatorAddedToAFinishedExperimentIsAllThatRuns) {
  wbtest::TempDir dir;
  wbtest::write_pattern_dataset(dir / "data", 500, 200);
  wb::Store store(dir / "results.db");
  const std::string file = tiny_experiment(dir / "data");
  auto first =
      wb::parse_experiment(file, dir / "slice.toml", {"training.steps=4"}, wbtest::plugins());
  ASSERT_EQ(wb::run_experiment(first, store, wbtest::plugins(), {}).finished, 1);
  auto added = wb::parse_experiment(file + "\n[[evaluators]]\nplugin = \"knn\"\nk = 5\n",
                                    dir / "slice.toml", {"training.steps=4"}, wbtest::plugins());
  testing::internal::CaptureStdout();
  ASSERT_EQ(wb::run_experiment(added, store, wbtest::plugins(), {}).finished, 1);
  const std::string log = testing::internal::GetCapturedStdout();
  for (const std::string said :
       {"pretrain: reusing checkpoint", "validation: reusing run 1's results",
        "evaluator linear_probe: reusing run 1's results",
        "evaluator linear_probe#2: reusing run 1's results", "features: reusing",
        "evaluator knn done"})
    EXPECT_NE(log.find(said), std::string::npos) << "no \"" << said << "\" in\n" << log;
  for (const std::string not_said :
       {"features: extracting", "pretrain: validation loss", "evaluator linear_probe done"})
    EXPECT_EQ(log.find(not_said), std::string::npos) << "\"" << not_said << "\" in\n" << log;
  // Run 2 holds every number, the copied ones equal to run 1's.
  EXPECT_EQ(count(store,
                  "SELECT COUNT(*) FROM results a JOIN results b ON a.evaluator_hash = "
                  "b.evaluator_hash AND a.metric = b.metric AND a.layer IS b.layer AND a.split IS "
                  "b.split AND a.value = b.value WHERE a.run_id = 1 AND b.run_id = 2"),
            count(store, "SELECT COUNT(*) FROM results WHERE run_id = 1"));
  EXPECT_GT(count(store, "SELECT COUNT(*) FROM results WHERE run_id = 2 AND evaluator = 'knn'"), 0);
  EXPECT_EQ(one(store,
                "SELECT value FROM metrics WHERE run_id = 2 AND name = "
                "'train/final_val_loss'"),
            one(store,
                "SELECT value FROM metrics WHERE run_id = 1 AND name = "
                "'train/final_val_loss'"));
  EXPECT_EQ(count(store, "SELECT COUNT(*) FROM run_evaluations WHERE run_id = 2"), 4);
  EXPECT_EQ(
      count(store, "SELECT COUNT(*) FROM run_evaluations WHERE run_id = 2 AND computed_by = 1"), 3);
  std::string out;
  ASSERT_EQ(wbtest::run_cli("results show 2 --db " + (dir / "results.db"), &out), 0) << out;
  EXPECT_NE(out.find("copied from run 1"), std::string::npos) << out;
  EXPECT_NE(out.find("computed here"), std::string::npos) << out;

  // --force computes every evaluation again.
  wb::RunOptions force;
  force.force = true;
  testing::internal::CaptureStdout();
  ASSERT_EQ(wb::run_experiment(added, store, wbtest::plugins(), force).finished, 1);
  const std::string forced = testing::internal::GetCapturedStdout();
  EXPECT_EQ(forced.find("reusing run"), std::string::npos) << forced;
  EXPECT_EQ(
      count(store, "SELECT COUNT(*) FROM run_evaluations WHERE run_id = 3 AND computed_by = 3"), 4);
}

// A BERT run with the three evaluators that read pooled features makes one feature
// pass over the splits: linear_probe's, which mask_ensemble (its first mask) and
// finetune (its probe head) read.
TEST(VerticalSlice, ABertRunMakesOneFeaturePassForItsThreeEvaluators) {
  wbtest::TempDir dir;
  wbtest::write_pattern_dataset(dir / "data", 500, 200);
  wb::Store store(dir / "results.db");
  auto exp = wb::parse_experiment(
      tiny_experiment(dir / "data") +
          "\n[[evaluators]]\nplugin = \"mask_ensemble\"\nmasks = 2\nl2_steps = 1\n"
          "[[evaluators]]\nplugin = \"finetune\"\nepochs = 1\nhead_init = \"probe\"\n",
      dir / "slice.toml", {"training.steps=2", "objective.plugin=\"bert\""}, wbtest::plugins());
  testing::internal::CaptureStdout();
  ASSERT_TRUE(wb::run_experiment(exp, store, wbtest::plugins(), {}).ok());
  const std::string log = testing::internal::GetCapturedStdout();
  size_t passes = 0;
  for (auto at = log.find("features: extracting"); at != std::string::npos;
       at = log.find("features: extracting", at + 1))
    ++passes;
  EXPECT_EQ(passes, 1u) << log;
  EXPECT_EQ(count(store, "SELECT COUNT(*) FROM run_evaluations WHERE run_id = 1"), 5);
}

// A run interrupted (Ctrl-C at a known point) and resumed: the finished row holds the
// whole training curve, equal to an uninterrupted run's, and names the attempt it
// continues; `results show` prints it.
TEST(VerticalSlice, AResumedRunHoldsItsWholeCurveAndItsAttempts) {
  wbtest::TempDir dir;
  wbtest::write_pattern_dataset(dir / "data", 400, 100);
  wb::PluginRegistry reg;
  reg.scan({WB_TEST_PLUGIN_DIR, WB_TEST_FIXTURE_PLUGIN_DIR "/interrupting"});
  const std::vector<std::string> sets = {"objective.plugin=fixture_interrupting",
                                         "training.log_every=5", "training.checkpoint_every=10"};
  auto exp = wb::parse_experiment(tiny_experiment(dir / "data"), dir / "slice.toml", sets, reg);
  auto curve = [](wb::Store& store, int64_t run) {
    std::map<std::string, double> out;  // "name@step" -> value
    store.query(
        "SELECT name, step, value FROM metrics WHERE run_id = ? AND name IN "
        "('train/loss', 'train/val_loss', 'train/bits_per_token')",
        {std::to_string(run)},
        [&](auto&, const auto& v) { out[v[0] + "@" + v[1]] = std::stod(v[2]); });
    return out;
  };

  wb::Store whole(dir / "whole/r.db");  // each store with its own artifacts beside it
  ASSERT_EQ(wb::run_experiment(exp, whole, reg, {}).finished, 1);
  const auto want = curve(whole, 1);
  ASSERT_EQ(want.count("train/loss@40"), 1u);

  wb::Store store(dir / "resumed/r.db");
  setenv("WB_TEST_INTERRUPT_AT", "23", 1);  // the 23rd batch prepared: mid-training
  const auto first = wb::run_experiment(exp, store, reg, {});
  unsetenv("WB_TEST_INTERRUPT_AT");
  wb::clear_interrupt();
  ASSERT_EQ(first.interrupted, 1);
  ASSERT_EQ(wb::run_experiment(exp, store, reg, {}).finished, 1);
  ASSERT_EQ(store.run(2)->status, "finished");
  EXPECT_EQ(curve(store, 2), want);  // every point, bit for bit, on the finished row
  EXPECT_EQ(count(store, "SELECT COUNT(*) FROM run_attempts WHERE run_id = 2 AND attempt_id = 1"),
            1);
  std::string out;
  ASSERT_EQ(wbtest::run_cli("results show 2 --db " + (dir / "resumed/r.db"), &out), 0) << out;
  EXPECT_NE(out.find("resumes  run 1 (interrupted"), std::string::npos) << out;
}

TEST(VerticalSlice, AMissingDatasetFailsTheRunWithTheReason) {
  wbtest::TempDir dir;
  auto exp =
      wb::parse_experiment(tiny_experiment(dir / "nowhere"), "slice.toml", {}, wbtest::plugins());
  wb::Store store(dir / "results.db");
  auto summary = wb::run_experiment(exp, store, wbtest::plugins(), {});
  EXPECT_EQ(summary.failed, 1);
  auto runs = store.runs();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].status, "failed");
  EXPECT_NE(runs[0].error.find("not found"), std::string::npos) << runs[0].error;
}

// The CLI as a user meets it: bad input is a message and exit status 1, never a crash.
TEST(Cli, BadInputExitsNonZeroWithTheProblemNamed) {
  wbtest::TempDir dir;
  wbtest::write_pattern_dataset(dir / "data", 50, 20);
  const std::string good = tiny_experiment(dir / "data");
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir / name) << text;
    return dir / name;
  };
  const std::string db = " --db " + (dir / "r.db");
  std::string out;

  EXPECT_EQ(wbtest::run_cli("run " + write("bad.toml", good + "\n[model\n") + db, &out), 1);
  EXPECT_NE(out.find("bad.toml:"), std::string::npos) << out;
  EXPECT_NE(out.find("malformed TOML"), std::string::npos) << out;

  std::string typo = good;
  typo.replace(typo.find("levels = 8"), 10, "levles = 8");
  EXPECT_EQ(wbtest::run_cli("run " + write("typo.toml", typo) + db, &out), 1);
  EXPECT_NE(out.find("typo.toml:16:1: [quantizer] unknown key 'levles'"), std::string::npos) << out;
  EXPECT_NE(out.find("did you mean 'levels'"), std::string::npos) << out;

  EXPECT_EQ(wbtest::run_cli("run " + write("nodata.toml", good) + db +
                                " --set dataset.path=" + (dir / "missing"),
                            &out),
            1);
  EXPECT_NE(out.find("missing/train-images-idx3-ubyte not found"), std::string::npos) << out;

  EXPECT_EQ(wbtest::run_cli("run " + (dir / "absent.toml") + db, &out), 1);
  EXPECT_NE(out.find("absent.toml: cannot open experiment file"), std::string::npos) << out;

  EXPECT_EQ(wbtest::run_cli("run " + dir.path + db, &out), 1);
  EXPECT_NE(out.find("is a folder, not an experiment file"), std::string::npos) << out;

  EXPECT_EQ(wbtest::run_cli("rnu " + write("ok.toml", good), &out), 1);
  EXPECT_NE(out.find("unknown command 'rnu'; did you mean 'run'?"), std::string::npos) << out;

  // Far beyond the machine: refused before anything is made, with the figures.
  EXPECT_EQ(wbtest::run_cli("run " + write("ok.toml", good) + db + " --set dataset.resolution=1000",
                            &out),
            1);
  EXPECT_NE(out.find("dataset.resolution"), std::string::npos) << out;
  EXPECT_NE(out.find("256"), std::string::npos) << out;
  EXPECT_EQ(wbtest::run_cli("run " + write("ok.toml", good) + db +
                                " --set training.batch_size=40000000 --set dataset.max_train=50",
                            &out),
            1);
  EXPECT_NE(out.find("training would need about"), std::string::npos) << out;
  EXPECT_NE(out.find("experiment.memory_check = false"), std::string::npos) << out;

  EXPECT_EQ(wbtest::run_cli("run " + write("ok.toml", good) + db + " --nproc 0", &out), 105);
  EXPECT_NE(out.find("not in range 1 to 1024"), std::string::npos) << out;

  // A plugin built for another SDK ABI on the plugin path: refused, and an experiment
  // that asks for it is told why.
  EXPECT_EQ(wbtest::run_cli(
                "run " + write("abi.toml", good) + db + " --set objective.plugin=fixture_wrong_abi",
                &out, std::string("WORKBENCH_PLUGIN_PATH=") + WB_TEST_FIXTURE_PLUGIN_DIR + "/bad"),
            1);
  EXPECT_NE(out.find("built against plugin SDK ABI 999, this workbench has ABI " +
                     std::to_string(WB_ABI_VERSION)),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("unknown objective plugin 'fixture_wrong_abi'"), std::string::npos) << out;
}

// The paper's experiments (released weights, data the machine may not have): each
// dry-runs, printing its runs, without touching weights, data or store.
TEST(Cli, ThePapersExperimentsDryRun) {
  wbtest::TempDir dir;
  const std::filesystem::path paper =
      std::filesystem::path(WB_TEST_SOURCE_DIR) / ".." / "experiments" / "paper";
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(paper)) {
    if (entry.path().extension() != ".toml") continue;
    std::string out;
    EXPECT_EQ(
        wbtest::run_cli("run " + entry.path().string() + " --dry-run --db " + (dir / "r.db"), &out),
        0)
        << out;
    EXPECT_NE(out.find("hf_weights = \"weights/imagegpt-"), std::string::npos) << out;
    ++files;
  }
  EXPECT_EQ(files, 5);
  EXPECT_FALSE(std::filesystem::exists(dir / "r.db"));
}

TEST(Cli, DryRunPrintsTheResolvedRunsAndTouchesNothing) {
  wbtest::TempDir dir;
  std::ofstream(dir / "e.toml") << tiny_experiment(dir / "data")
                                << "\n[sweep.model]\nlayers = [1, 2]\n";
  std::string out;
  EXPECT_EQ(wbtest::run_cli("run " + (dir / "e.toml") + " --dry-run --db " + (dir / "r.db"), &out),
            0);
  EXPECT_NE(out.find("2 run(s)"), std::string::npos) << out;
  EXPECT_NE(out.find("# run 2 of 2: model.layers=2"), std::string::npos) << out;
  EXPECT_FALSE(std::filesystem::exists(dir / "r.db"));
}
