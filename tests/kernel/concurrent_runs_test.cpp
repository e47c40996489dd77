// Eight runs started at once into one store folder, sharing their tokens, checkpoint
// and features: every one finishes, the shared artifacts are made once (the others
// wait on the artifact's lock and reuse it), and every result equals that of the same
// runs made one after another.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "store.hpp"
#include "test_support.hpp"

namespace {

constexpr int kRuns = 8;

std::string experiment(const std::string& data) {
  return fmt::format(R"(
[experiment]
name = "together"
threads = 1

[dataset]
plugin = "fashion_mnist"
path = "{}"
resolution = 7
max_train = 200
max_eval = 100

[quantizer]
plugin = "grey"
levels = 8

[model]
plugin = "igpt"
size = "tiny"

[objective]
plugin = "ar"

[training]
steps = 10
batch_size = 16
val_every = 5

[[evaluators]]
plugin = "linear_probe"
l2_steps = 1
)",
                     data);
}

// Run i of the eight: its own probe setting, so its own config and row.
std::string command(const std::string& toml, const std::string& db, int i) {
  return fmt::format("run {} --db {} --set evaluators.0.max_iter={}", toml, db, 20 + i);
}

// config hash -> its results, "metric layer split = value" lines.
std::map<std::string, std::string> results_by_config(const std::string& db) {
  wb::Store store(db);
  std::map<std::string, std::string> out;
  store.query(
      "SELECT config_hash, metric, layer, split, value FROM run_results WHERE status = "
      "'finished' ORDER BY config_hash, metric, layer, split",
      {}, [&](auto&, const auto& v) {
        out[v[0]] += fmt::format("{} {} {} = {}\n", v[1], v[2], v[3], v[4]);
      });
  return out;
}

int64_t count(const std::string& db, const std::string& sql) {
  wb::Store store(db);
  int64_t n = -1;
  store.query(sql, {}, [&](auto&, const auto& v) { n = std::stoll(v[0]); });
  return n;
}

}  // namespace

TEST(ConcurrentRuns, EightRunsSharingTheirArtifactsAllFinishAsIfRunOneAfterAnother) {
  wbtest::TempDir dir;
  wbtest::write_pattern_dataset(dir / "data", 200, 100);
  std::ofstream(dir / "e.toml") << experiment(dir / "data");

  // One after another, in their own store folder.
  for (int i = 0; i < kRuns; ++i) {
    std::string out;
    ASSERT_EQ(wbtest::run_cli(command(dir / "e.toml", dir / "one/r.db", i), &out), 0) << out;
  }
  // All at once, in another.
  std::vector<std::string> outputs(kRuns);
  std::vector<int> codes(kRuns, -1);
  std::vector<std::thread> threads;
  for (int i = 0; i < kRuns; ++i)
    threads.emplace_back([&, i] {
      codes[i] = wbtest::run_cli(command(dir / "e.toml", dir / "all/r.db", i), &outputs[i]);
    });
  for (auto& t : threads) t.join();
  for (int i = 0; i < kRuns; ++i) EXPECT_EQ(codes[i], 0) << outputs[i];

  const std::string db = dir / "all/r.db";
  EXPECT_EQ(count(db, "SELECT COUNT(*) FROM runs WHERE status = 'finished'"), kRuns);
  // Trained once: one run holds the training curve; the others reused the checkpoint.
  EXPECT_EQ(count(db, "SELECT COUNT(DISTINCT run_id) FROM metrics WHERE name = 'train/loss'"), 1);
  const auto together = results_by_config(db);
  EXPECT_EQ(together.size(), size_t(kRuns));
  EXPECT_EQ(together, results_by_config(dir / "one/r.db"));
  // No temporary file is left anywhere under the artifacts.
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir / "all/artifacts"))
    EXPECT_EQ(e.path().string().find(".tmp"), std::string::npos) << e.path();
}
