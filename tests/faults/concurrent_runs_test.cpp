// Eight runs started at once into one store folder, sharing their tokens, checkpoint
// and features: every one finishes, the shared artifacts are made once (the others
// wait on the artifact's lock and reuse it), and every result equals that of the same
// runs made one after another.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "fault_support.hpp"
#include "test_support.hpp"

namespace {

constexpr int kRuns = 8;

// Run i of the eight: its own probe setting, so its own config and row.
std::string command(const std::string& toml, const std::string& db, int i) {
  return fmt::format("run {} --db {} --set evaluators.0.max_iter={}", toml, db, 20 + i);
}

}  // namespace

TEST(ConcurrentRuns, EightRunsSharingTheirArtifactsAllFinishAsIfRunOneAfterAnother) {
  wbtest::TempDir dir;
  wbtest::write_pattern_dataset(dir / "data", 200, 100);
  std::ofstream(dir / "e.toml") << faults::experiment(dir / "data");

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
  EXPECT_EQ(faults::one(db, "SELECT COUNT(*) FROM runs WHERE status = 'finished'"),
            std::to_string(kRuns));
  // Trained once: one run holds the training curve; the others reused the checkpoint.
  EXPECT_EQ(faults::one(db, "SELECT COUNT(DISTINCT run_id) FROM metrics WHERE name = 'train/loss'"),
            "1");
  const auto together = faults::results_by_config(db);
  EXPECT_EQ(together.size(), size_t(kRuns));
  EXPECT_EQ(together, faults::results_by_config(dir / "one/r.db"));
  EXPECT_EQ(faults::temporaries(dir / "all/artifacts"), 0);
}
