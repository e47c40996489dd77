// SIGTERM and kill -9 in each phase of a run (reading and encoding the data,
// pretraining, the feature pass, the probe). SIGTERM: the command exits 1 with the run
// marked interrupted and no temporary file left. Either way the same command again
// finishes it, its results equal those of a run never interrupted, the store passes
// SQLite's integrity check and no temporary file is left.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>

#include "fault_support.hpp"
#include "test_support.hpp"

namespace {

// Starts `workbench ARGS` with its output in `log`; returns its pid.
pid_t start(const std::string& args, const std::string& log) {
  const std::string cmd = fmt::format("exec {} {} > {} 2>&1", WB_TEST_CLI, args, log);
  const pid_t pid = fork();
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}

// Interrupts a run with `sig` at the start of each phase, checks how it ended, reruns
// it and compares with a run never interrupted.
void interrupt_each_phase(int sig) {
  wbtest::TempDir dir;
  // Enough images and steps that each phase lasts a moment.
  wbtest::write_pattern_dataset(dir / "data", 3000, 1000);
  std::ofstream(dir / "e.toml") << faults::experiment(dir / "data", 200);
  const std::string sets =
      " --set dataset.max_train=3000 --set dataset.max_eval=1000 --set dataset.resolution=14";
  std::string out;
  ASSERT_EQ(wbtest::run_cli(
                fmt::format("run {} --db {}{}", dir / "e.toml", dir / "whole/r.db", sets), &out),
            0)
      << out;
  const auto want = faults::results_by_config(dir / "whole/r.db");
  ASSERT_EQ(want.size(), 1u);

  // Each phase by the first line the run logs in it, and what the interrupted run's
  // row then says (SIGTERM: the run says why; SIGKILL: the next command finds it dead).
  struct Phase {
    std::string name, marker, error;
  };
  const std::vector<Phase> phases = {
      {"data", "started as run", "making the tokens"},
      {"pretraining", "model: ", "interrupted at step"},
      {"features", "pretrain: validation loss", "during evaluator linear_probe"},
      {"probe", "[linear_probe] layer  0", "during evaluator linear_probe"}};
  for (const auto& [phase, marker, error] : phases) {
    SCOPED_TRACE(phase);
    const std::string db = dir / (phase + "/r.db");
    const std::string log = dir / (phase + ".log");
    const std::string args = fmt::format("run {} --db {}{}", dir / "e.toml", db, sets);
    const pid_t pid = start(args, log);
    ASSERT_GT(pid, 0);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (wbtest::read_text(log).find(marker) == std::string::npos &&
           std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    ASSERT_EQ(kill(pid, sig), 0);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    const std::string text = wbtest::read_text(log);
    if (sig == SIGKILL) {
      ASSERT_TRUE(WIFSIGNALED(status)) << text;
    } else {
      ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status) << "\n" << text;
      EXPECT_EQ(WEXITSTATUS(status), 1) << text;
      EXPECT_EQ(faults::one(db, "SELECT status FROM runs WHERE id = 1"), "interrupted") << text;
      EXPECT_NE(faults::one(db, "SELECT error FROM runs WHERE id = 1").find(error),
                std::string::npos)
          << text;
      EXPECT_EQ(faults::temporaries(dir / phase), 0);
    }
    // Again: it finishes, with the results of the run that was never interrupted; a
    // killed attempt is closed as interrupted and its temporaries are gone.
    ASSERT_EQ(wbtest::run_cli(args, &out), 0) << out;
    EXPECT_EQ(faults::results_by_config(db), want) << out;
    EXPECT_EQ(faults::one(db, "SELECT status FROM runs WHERE id = 1"), "interrupted");
    EXPECT_EQ(faults::one(db, "PRAGMA integrity_check"), "ok");
    EXPECT_EQ(faults::temporaries(dir / phase), 0);
  }
}

}  // namespace

TEST(Signals, SigtermInEachPhaseInterruptsTheRunAndTheRerunFinishesItAsIfUninterrupted) {
  interrupt_each_phase(SIGTERM);
}

TEST(Signals, KillNineInEachPhaseLosesNothingTheRerunFinishesItAsIfUninterrupted) {
  interrupt_each_phase(SIGKILL);
}
