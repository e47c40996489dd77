// `workbench check`: the checks file's errors name file and line, and a band broken by a
// deliberately broken setting (a learning rate that learns nothing) fails the check
// that an honest setting passes, end to end from the experiment to the exit status.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "run/runner.hpp"
#include "store/checks.hpp"
#include "test_support.hpp"

namespace {

void write(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

// A tiny AR pretraining on the pattern dataset at `data_dir`, at learning rate `lr`.
std::string tiny_nightly(const std::string& data_dir, const std::string& lr) {
  return "[experiment]\nname = \"nightly\"\nthreads = 2\n" +
         wbtest::minimal_experiment(fmt::format(
             "path = \"{}\"\nresolution = 7\nmax_train = 300\nmax_eval = 100", data_dir)) +
         fmt::format("[training]\nsteps = 30\nbatch_size = 16\nwarmup_steps = 3\nlr = {}\n", lr);
}

// The pretrained model's validation loss must be well below the uniform model's
// 3 bits a token (8 grey levels).
const char* kChecks = R"(
[[check]]
name = "validation bits per token below uniform"
sql = """SELECT last FROM metric_summaries m JOIN runs r ON r.id = m.run_id
         WHERE m.name = 'train/val_bits_per_token' AND r.status = 'finished'
         ORDER BY r.id DESC LIMIT 1"""
max = 2.5
why = "uniform over 8 levels is 3 bits"
)";

}  // namespace

TEST(Checks, ABrokenSettingBreaksTheBandThatTheHonestOnePasses) {
  wbtest::TempDir dir;
  wbtest::write_pattern_dataset(dir / "data", 400, 100);
  write(dir / "nightly.checks.toml", kChecks);
  const auto checks = wb::load_checks(dir / "nightly.checks.toml");
  for (const auto& [lr, should_pass] : {std::pair{"3e-3", true}, std::pair{"1e-9", false}}) {
    const std::string folder = dir / fmt::format("lr{}", lr);
    std::filesystem::create_directories(folder);
    auto exp = wb::parse_experiment(tiny_nightly(dir / "data", lr), dir / "nightly.toml",
                                    {"quantizer.levels=8"}, wbtest::plugins());
    wb::Store store(folder + "/results.db");
    ASSERT_TRUE(wb::run_experiment(exp, store, wbtest::plugins(), {}).ok());
    const auto results = wb::run_checks(store, checks);
    ASSERT_EQ(results.size(), 1u);
    ASSERT_TRUE(results[0].value.has_value());
    EXPECT_EQ(results[0].passed, should_pass) << "lr " << lr << ": " << *results[0].value;
    // The command's exit status follows.
    std::string out;
    const int status = wbtest::run_cli(
        fmt::format("check {} --db {}", dir / "nightly.checks.toml", folder + "/results.db"), &out);
    EXPECT_EQ(status == 0, should_pass) << out;
    EXPECT_NE(out.find(should_pass ? "1 of 1 checks passed" : "FAIL"), std::string::npos) << out;
  }
}

TEST(Checks, AFileWithAnUnknownKeyOrNoBandIsRefusedWithItsLine) {
  wbtest::TempDir dir;
  write(dir / "a.toml", "[[check]]\nname = \"x\"\nsql = \"SELECT 1\"\nmaxx = 2\n");
  write(dir / "b.toml", "[[check]]\nname = \"x\"\nsql = \"SELECT 1\"\n");
  write(dir / "c.toml", "[[check]\n");
  for (const auto& [file, text] :
       {std::pair{"a.toml", ":4: unknown key 'maxx'"},
        std::pair{"b.toml", ":1: check 'x' has no band"}, std::pair{"c.toml", "c.toml:1:"}}) {
    try {
      wb::load_checks(dir / file);
      FAIL() << file << " was accepted";
    } catch (const wb::Error& e) {
      EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
    }
  }
}

TEST(Checks, AQueryThatFindsNothingFails) {
  wbtest::TempDir dir;
  write(dir / "c.toml",
        "[[check]]\nname = \"x\"\nsql = \"SELECT value FROM results WHERE 0\"\nmin = 0\n");
  wb::Store store(dir / "results.db");
  const auto checks = wb::load_checks(dir / "c.toml");
  const auto r = wb::run_checks(store, checks);
  EXPECT_FALSE(r.at(0).value.has_value());
  EXPECT_FALSE(r.at(0).passed);
}
