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

// Starts `workbench ARGS` with its output in `log`, sends `sig` once the log shows
// `marker` (or after two minutes), and returns how the process ended (waitpid's status).
int signal_at(const std::string& args, const std::string& log, const std::string& marker, int sig) {
  const pid_t pid = start(args, log);
  EXPECT_GT(pid, 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (wbtest::read_text(log).find(marker) == std::string::npos &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(kill(pid, sig), 0);
  int status = 0;
  EXPECT_EQ(waitpid(pid, &status, 0), pid);
  return status;
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
    const int status = signal_at(args, log, marker, sig);
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

// The saved progress of evaluations under `dir` (EvaluatorState's optimiser<n>.pt).
int saved_progress(const std::string& dir) {
  int n = 0;
  if (!std::filesystem::exists(dir)) return 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    n += name.rfind("optimiser", 0) == 0 && e.path().extension() == ".pt";
  }
  return n;
}

}  // namespace

// Fine-tuning stopped (SIGTERM: mid-epoch, saved on the way out) or killed (kill -9:
// its last epoch's end) after its second epoch: the same command resumes it from its
// saved progress, ends with the results of a run never interrupted, and deletes the
// progress once finished.
TEST(Signals, FineTuningInterruptedResumesFromItsSavedProgress) {
  wbtest::TempDir dir;
  wbtest::write_pattern_dataset(dir / "data", 400, 100);
  std::ofstream(dir / "e.toml") << faults::experiment(dir / "data", 20) << R"(
[[evaluators]]
plugin = "finetune"
epochs = 5
patience = 0
batch_size = 8
)";
  std::string out;
  const std::string whole = fmt::format("run {} --db {}", dir / "e.toml", dir / "whole/r.db");
  ASSERT_EQ(wbtest::run_cli(whole, &out), 0) << out;
  const auto want = faults::results_by_config(dir / "whole/r.db");
  ASSERT_EQ(want.size(), 1u);
  EXPECT_EQ(saved_progress(dir / "whole"), 0);
  for (const int sig : {SIGTERM, SIGKILL}) {
    SCOPED_TRACE(strsignal(sig));
    const std::string db = dir / fmt::format("{}/r.db", sig);
    const std::string log = dir / fmt::format("{}.log", sig);
    const std::string args = fmt::format("run {} --db {}", dir / "e.toml", db);
    signal_at(args, log, "[finetune] epoch 2:", sig);
    const std::string text = wbtest::read_text(log);
    ASSERT_EQ(text.find("fine-tuned"), std::string::npos) << "finished before the signal\n" << text;
    EXPECT_EQ(saved_progress(dir / std::to_string(sig)), 1) << text;
    if (sig == SIGTERM)
      EXPECT_NE(faults::one(db, "SELECT error FROM runs WHERE id = 1")
                    .find("during evaluator finetune (its saved progress is kept)"),
                std::string::npos)
          << text;
    ASSERT_EQ(wbtest::run_cli(args, &out), 0) << out;
    EXPECT_NE(out.find("[finetune] resuming at epoch"), std::string::npos) << out;
    EXPECT_EQ(out.find("[finetune] epoch 1:"), std::string::npos) << out;
    EXPECT_EQ(faults::results_by_config(db), want) << out;
    EXPECT_EQ(saved_progress(dir / std::to_string(sig)), 0) << out;
  }
}

TEST(Signals, SigtermInEachPhaseInterruptsTheRunAndTheRerunFinishesItAsIfUninterrupted) {
  interrupt_each_phase(SIGTERM);
}

TEST(Signals, KillNineInEachPhaseLosesNothingTheRerunFinishesItAsIfUninterrupted) {
  interrupt_each_phase(SIGKILL);
}
