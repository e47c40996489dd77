// `workbench run FILE --nproc 2`: two worker processes on c10d's Gloo process group
// train as one process does with the same global batch; a killed worker fails the run
// on every rank, the run row says so, and rerunning the command resumes it from rank
// 0's last checkpoint. Builds without Gloo refuse --nproc, saying why.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include <torch/cuda.h>

#include "distributed/cluster.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;

namespace {

// A tiny AR pretraining on the pattern dataset: batch 16 (8 per worker), a probe.
std::string experiment(const std::string& data_dir, int64_t steps) {
  return "[experiment]\nname = \"dp\"\nthreads = 1\n" +
         wbtest::minimal_experiment(fmt::format(
             "path = \"{}\"\nresolution = 7\nmax_train = 200\nmax_eval = 100", data_dir)) +
         fmt::format(R"(
[training]
steps = {}
# float32: the curves are compared to 1e-4, below bfloat16's rounding of a half batch
precision = "float32"
batch_size = 16
lr = 3e-3
warmup_steps = 2
log_every = 1
val_every = 10
checkpoint_every = 10
[[evaluators]]
plugin = "linear_probe"
l2_steps = 1
max_iter = 20
)",
                     steps);
}

std::string write_experiment(const wbtest::TempDir& dir, int64_t steps) {
  wbtest::write_pattern_dataset(dir / "data", 200, 100);
  std::ofstream(dir / "dp.toml") << experiment(dir / "data", steps);
  return dir / "dp.toml";
}

// step -> value of a run's metric.
std::map<int64_t, double> curve(const std::string& db, int64_t run, const std::string& name) {
  wb::Store store(db);
  std::map<int64_t, double> c;
  store.query("SELECT step, value FROM metrics WHERE run_id = ? AND name = ?",
              {std::to_string(run), name},
              [&](auto&, const auto& v) { c[std::stoll(v[0])] = std::stod(v[1]); });
  return c;
}

// The value of an environment variable of a running process, "" when unset.
std::string environ_of(pid_t pid, const std::string& name) {
  std::ifstream in(fmt::format("/proc/{}/environ", pid), std::ios::binary);
  std::string entry;
  while (std::getline(in, entry, '\0'))
    if (entry.rfind(name + "=", 0) == 0) return entry.substr(name.size() + 1);
  return "";
}

std::vector<pid_t> children_of(pid_t pid) {
  std::ifstream in(fmt::format("/proc/{}/task/{}/children", pid, pid));
  std::vector<pid_t> out;
  for (pid_t c; in >> c;) out.push_back(c);
  return out;
}

// One process's loss curve and that of several workers, step for step. Same global
// batch, same start: they differ only by the order of float sums (the mean of two
// half-batch means, gradients summed across processes): measured up to ~1e-6 on the
// CPU; 1e-4 leaves room for other BLAS builds, and is below what workers that skip the
// all-reduce give (checked by removing it: off by more from step 2 on).
void expect_same_curve(const std::string& one_db, const std::string& several_db, size_t steps,
                       double tolerance = 1e-4) {
  const auto one = curve(one_db, 1, "train/loss");
  const auto several = curve(several_db, 1, "train/loss");
  ASSERT_EQ(one.size(), steps);
  ASSERT_EQ(several.size(), one.size());
  for (const auto& [step, loss] : one)
    EXPECT_NEAR(several.at(step), loss, tolerance) << "step " << step;
}

}  // namespace

TEST(DataParallel, TwoGlooWorkersReproduceTheLossCurveOfOneProcess) {
  if (!wb::has_process_groups()) GTEST_SKIP() << wb::process_group_unavailable_reason();
  wbtest::TempDir dir;
  const std::string file = write_experiment(dir, 12);
  std::string out;
  ASSERT_EQ(wbtest::run_cli(fmt::format("run {} --db {}", file, dir / "one/results.db"), &out), 0)
      << out;
  ASSERT_EQ(
      wbtest::run_cli(fmt::format("run {} --nproc 2 --db {}", file, dir / "two/results.db"), &out),
      0)
      << out;
  EXPECT_NE(out.find("on 2 workers"), std::string::npos) << out;
  expect_same_curve(dir / "one/results.db", dir / "two/results.db", 12);
  // Only rank 0 recorded: one run row, the probe's results in it.
  wb::Store store(dir / "two/results.db");
  EXPECT_EQ(wbtest::count(store, "SELECT COUNT(*) FROM runs"), 1);
  EXPECT_GT(wbtest::count(store, "SELECT COUNT(*) FROM results"), 0);
}

// torchrun starts the workers (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR/PORT and its
// agent's rendezvous store): the same run as `--nproc 2`, recorded once by rank 0.
TEST(DataParallel, TorchrunsTwoWorkersReproduceTheLossCurveOfOneProcess) {
  if (!wb::has_process_groups()) GTEST_SKIP() << wb::process_group_unavailable_reason();
  const std::string python = WB_REFERENCE_PYTHON;
  if (!fs::exists(python) ||
      std::system((python + " -c 'import torch.distributed.run' 2>/dev/null").c_str()) != 0)
    FAIL() << "no Python with torchrun at " << python << " (bash tools/setup.sh installs it)";
  wbtest::TempDir dir;
  const std::string file = write_experiment(dir, 12);
  std::string out;
  ASSERT_EQ(wbtest::run_cli(fmt::format("run {} --db {}", file, dir / "one/results.db"), &out), 0)
      << out;
  const int port = 20000 + static_cast<int>((getpid() + 7919) % 20000);
  const std::string torchrun = fmt::format(
      "{} -m torch.distributed.run --nnodes 1 --nproc-per-node 2 --master-addr 127.0.0.1 "
      "--master-port {} --no-python {} run {} --db {} > {} 2>&1",
      python, port, WB_TEST_CLI, file, dir / "two/results.db", dir / "torchrun.log");
  const int status = std::system(torchrun.c_str());
  out = wbtest::read_text(dir / "torchrun.log");
  ASSERT_EQ(status, 0) << out;
  EXPECT_NE(out.find("started by torchrun"), std::string::npos) << out;
  EXPECT_NE(out.find("on 2 workers"), std::string::npos) << out;
  expect_same_curve(dir / "one/results.db", dir / "two/results.db", 12);
  wb::Store store(dir / "two/results.db");
  EXPECT_EQ(wbtest::count(store, "SELECT COUNT(*) FROM runs"), 1);
}

// On a machine with two GPUs or more: each worker on its own GPU, the gradient buckets
// all-reduced by NCCL, the small agreements by Gloo; the curve is the one-GPU run's.
// Skipped without two GPUs (tools/gpu/check.sh runs it on a machine that has them).
TEST(DataParallel, TwoNcclWorkersOnTwoGpusReproduceTheLossCurveOfOneGpu) {
  if (!wb::has_process_groups()) GTEST_SKIP() << wb::process_group_unavailable_reason();
  if (!torch::cuda::is_available() || torch::cuda::device_count() < 2)
    GTEST_SKIP() << "needs two CUDA devices; this machine has "
                 << (torch::cuda::is_available() ? torch::cuda::device_count() : 0);
  wbtest::TempDir dir;
  const std::string file = write_experiment(dir, 12);
  std::string out;
  const std::string cuda = " --set experiment.device=cuda";
  ASSERT_EQ(
      wbtest::run_cli(fmt::format("run {} --db {}", file, dir / "one/results.db") + cuda, &out), 0)
      << out;
  ASSERT_EQ(wbtest::run_cli(
                fmt::format("run {} --nproc 2 --db {}", file, dir / "two/results.db") + cuda, &out),
            0)
      << out;
  EXPECT_NE(out.find("collectives: nccl"), std::string::npos) << out;
  // CUDA's sums are not bit-reproducible: a looser bound than the CPU test's.
  expect_same_curve(dir / "one/results.db", dir / "two/results.db", 12, 1e-3);
}

TEST(DataParallel, TwoNodesJoinAtTheMasterAddressAndTrainAsOne) {
  if (!wb::has_process_groups()) GTEST_SKIP() << wb::process_group_unavailable_reason();
  wbtest::TempDir dir;
  const std::string file = write_experiment(dir, 6);
  // Two launchers of one worker each, as two machines would run them (node 0 first
  // or second: the rendezvous waits for both), sharing the artifacts folder.
  const int port = 20000 + static_cast<int>(getpid() % 20000);
  const std::string common = fmt::format(
      "run {} --nproc 1 --nnodes 2 --master 127.0.0.1:{} --db {}", file, port, dir / "results.db");
  const std::string node1 =
      fmt::format("exec {} {} --node-rank 1 > {} 2>&1", WB_TEST_CLI, common, dir / "node1.log");
  const pid_t other = fork();
  ASSERT_GE(other, 0);
  if (other == 0) {
    execl("/bin/sh", "sh", "-c", node1.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  std::string out;
  EXPECT_EQ(wbtest::run_cli(common + " --node-rank 0", &out), 0) << out;
  int status = 0;
  ASSERT_EQ(waitpid(other, &status, 0), other);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_NE(out.find("on 2 workers"), std::string::npos) << out;
  EXPECT_EQ(curve(dir / "results.db", 1, "train/loss").size(), 6u);
}

TEST(DataParallel, AKilledWorkerFailsTheRunOnEveryRankAndTheRunResumes) {
  if (!wb::has_process_groups()) GTEST_SKIP() << wb::process_group_unavailable_reason();
  wbtest::TempDir dir;
  const std::string file = write_experiment(dir, 400);
  const std::string db = dir / "results.db";
  const std::string cmd = fmt::format("exec {} run {} --nproc 2 --db {} > {} 2>&1", WB_TEST_CLI,
                                      file, db, dir / "launcher.log");
  const pid_t launcher = fork();
  ASSERT_GE(launcher, 0);
  if (launcher == 0) {
    execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  // Once rank 0 has written a checkpoint, kill rank 1 as an out-of-memory killer would.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  pid_t rank1 = 0;
  while (std::chrono::steady_clock::now() < deadline && rank1 == 0) {
    bool checkpoint = false;
    if (fs::exists(dir / "artifacts/checkpoints"))
      for (const auto& d : fs::directory_iterator(dir / "artifacts/checkpoints"))
        checkpoint |= fs::exists(d.path() / "last.pt");
    if (checkpoint)
      for (pid_t c : children_of(launcher))
        if (environ_of(c, "WB_RANK") == "1") rank1 = c;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_NE(rank1, 0) << "no checkpoint and worker within 120 s";
  ASSERT_EQ(kill(rank1, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(waitpid(launcher, &status, 0), launcher);
  const std::string log = wbtest::read_text(dir / "launcher.log");
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 1) << log;
  EXPECT_NE(log.find("killed by signal 9"), std::string::npos) << log;

  std::string first_status, first_error;
  {
    wb::Store store(db);
    store.query("SELECT status, error FROM runs WHERE id = 1", {}, [&](auto&, const auto& v) {
      first_status = v[0];
      first_error = v[1];
    });
  }
  EXPECT_EQ(first_status, "failed");
  EXPECT_NE(first_error.find("rank"), std::string::npos) << first_error;

  // The same command again picks the run up from the checkpoint, not from step 0.
  std::string out;
  ASSERT_EQ(wbtest::run_cli(fmt::format("run {} --nproc 2 --db {}", file, db), &out), 0) << out;
  EXPECT_NE(out.find("resuming from"), std::string::npos) << out;
  // The finished run holds the whole curve: the failed attempt's points up to its
  // checkpoint (copied onto it) and its own after.
  const auto failed = curve(db, 1, "train/loss");
  const auto resumed = curve(db, 2, "train/loss");
  ASSERT_FALSE(failed.empty());
  ASSERT_FALSE(resumed.empty());
  EXPECT_EQ(resumed.begin()->first, failed.begin()->first);
  EXPECT_EQ(resumed.begin()->second, failed.begin()->second);
  EXPECT_EQ(resumed.rbegin()->first, 400);
}

TEST(DataParallel, ABatchThatDoesNotSplitOverTheWorkersIsRefusedBeforeAnyStarts) {
  wbtest::TempDir dir;
  const std::string file = write_experiment(dir, 2);
  std::string out;
  EXPECT_EQ(wbtest::run_cli(fmt::format("run {} --nproc 3 --db {}", file, dir / "r.db"), &out), 1);
  if (wb::has_process_groups())
    EXPECT_NE(out.find("training.batch_size = 16 does not split evenly over 3 workers"),
              std::string::npos)
        << out;
  else  // this build has no process group: --nproc is refused with the reason
    EXPECT_NE(out.find("data-parallel training is unavailable"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(dir / "artifacts")) << "work started before the refusal";
}
