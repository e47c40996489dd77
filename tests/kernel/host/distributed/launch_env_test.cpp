// Which worker a process is, from its launcher's environment: the workbench's own,
// torchrun's or SLURM's, in that order; none of them (or a SLURM batch script, or a
// one-task step) is one process.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include <workbench/error.hpp>

#include "distributed/launch_env.hpp"

namespace {

// Sets the given variables (and clears every launcher variable not given) for one test.
class Environment {
 public:
  explicit Environment(const std::map<std::string, std::string>& vars) {
    for (const char* name : kAll) {
      if (const char* v = std::getenv(name)) saved_[name] = v;
      unsetenv(name);
    }
    for (const auto& [k, v] : vars) setenv(k.c_str(), v.c_str(), 1);
  }
  ~Environment() {
    for (const char* name : kAll) unsetenv(name);
    for (const auto& [k, v] : saved_) setenv(k.c_str(), v.c_str(), 1);
  }

 private:
  static constexpr const char* kAll[] = {"WB_RANK",
                                         "WB_WORLD_SIZE",
                                         "WB_LOCAL_RANK",
                                         "WB_LOCAL_WORLD_SIZE",
                                         "WB_MASTER_ADDR",
                                         "WB_MASTER_PORT",
                                         "WB_DIST_TIMEOUT",
                                         "RANK",
                                         "WORLD_SIZE",
                                         "LOCAL_RANK",
                                         "LOCAL_WORLD_SIZE",
                                         "MASTER_ADDR",
                                         "MASTER_PORT",
                                         "TORCHELASTIC_USE_AGENT_STORE",
                                         "SLURM_PROCID",
                                         "SLURM_NTASKS",
                                         "SLURM_LOCALID",
                                         "SLURM_NODEID",
                                         "SLURM_TASKS_PER_NODE",
                                         "SLURM_STEP_ID",
                                         "SLURM_STEPID",
                                         "SLURM_JOB_NODELIST",
                                         "SLURM_NODELIST"};
  std::map<std::string, std::string> saved_;
};

}  // namespace

TEST(LaunchEnv, NoLauncherIsOneProcess) {
  Environment env({});
  EXPECT_FALSE(wb::cluster_spec_from_env().has_value());
}

TEST(LaunchEnv, TorchrunsVariablesAndItsAgentStore) {
  Environment env({{"RANK", "3"},
                   {"WORLD_SIZE", "4"},
                   {"LOCAL_RANK", "1"},
                   {"LOCAL_WORLD_SIZE", "2"},
                   {"MASTER_ADDR", "node7"},
                   {"MASTER_PORT", "29611"},
                   {"TORCHELASTIC_USE_AGENT_STORE", "True"}});
  const auto s = wb::cluster_spec_from_env();
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->launcher, "torchrun");
  EXPECT_EQ(s->rank, 3);
  EXPECT_EQ(s->world, 4);
  EXPECT_EQ(s->local_rank, 1);
  EXPECT_EQ(s->local_world, 2);
  EXPECT_EQ(s->master_addr, "node7");
  EXPECT_EQ(s->master_port, 29611);
  EXPECT_TRUE(s->store_hosted);
}

TEST(LaunchEnv, TheWorkbenchsOwnVariablesComeFirst) {
  Environment env({{"WB_RANK", "1"},
                   {"WB_WORLD_SIZE", "2"},
                   {"WB_LOCAL_WORLD_SIZE", "2"},
                   {"WB_LOCAL_RANK", "1"},
                   {"RANK", "0"},
                   {"WORLD_SIZE", "8"}});
  const auto s = wb::cluster_spec_from_env();
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->launcher, "workbench");
  EXPECT_EQ(s->world, 2);
  EXPECT_FALSE(s->store_hosted);
}

TEST(LaunchEnv, SlurmStepsTasksWithTheMasterFromTheNodeListOrMaster) {
  const std::map<std::string, std::string> step = {{"SLURM_PROCID", "5"},
                                                   {"SLURM_NTASKS", "8"},
                                                   {"SLURM_LOCALID", "1"},
                                                   {"SLURM_NODEID", "2"},
                                                   {"SLURM_TASKS_PER_NODE", "2(x4)"},
                                                   {"SLURM_STEP_ID", "0"},
                                                   {"SLURM_JOB_NODELIST", "gpu[03-06],cpu1"}};
  {
    Environment env(step);
    const auto s = wb::cluster_spec_from_env();
    ASSERT_TRUE(s.has_value());
    EXPECT_EQ(s->launcher, "slurm");
    EXPECT_EQ(s->rank, 5);
    EXPECT_EQ(s->world, 8);
    EXPECT_EQ(s->local_rank, 1);
    EXPECT_EQ(s->local_world, 2);
    EXPECT_EQ(s->master_addr, "gpu03");
    EXPECT_EQ(s->master_port, 29500);
  }
  {
    Environment env(step);
    const auto s = wb::cluster_spec_from_env("head.cluster:23456");
    ASSERT_TRUE(s.has_value());
    EXPECT_EQ(s->master_addr, "head.cluster");
    EXPECT_EQ(s->master_port, 23456);
  }
  // The batch script itself (no step) and a step of one task (a job array's element):
  // one process, no rendezvous to wait for.
  auto batch_script = step;
  batch_script.erase("SLURM_STEP_ID");
  {
    Environment env(batch_script);
    EXPECT_FALSE(wb::cluster_spec_from_env().has_value());
  }
  auto one_task = step;
  one_task["SLURM_NTASKS"] = "1";
  one_task["SLURM_PROCID"] = "0";
  {
    Environment env(one_task);
    EXPECT_FALSE(wb::cluster_spec_from_env().has_value());
  }
}

TEST(LaunchEnv, SlurmHostListsAndTaskCounts) {
  EXPECT_EQ(wb::first_slurm_host("node[01-04,07],gpu5"), "node01");
  EXPECT_EQ(wb::first_slurm_host("a1,b2"), "a1");
  EXPECT_EQ(wb::first_slurm_host("rack[2,5]-n[1-3]"), "rack2-n[1-3]");
  EXPECT_EQ(wb::slurm_tasks_per_node("2(x3),1"), (std::vector<int64_t>{2, 2, 2, 1}));
  EXPECT_EQ(wb::slurm_tasks_per_node("4"), (std::vector<int64_t>{4}));
  EXPECT_THROW(wb::slurm_tasks_per_node("x"), wb::Error);
}

TEST(LaunchEnv, AnInconsistentEnvironmentIsRefusedNamingTheLauncher) {
  Environment env({{"RANK", "2"}, {"WORLD_SIZE", "2"}});
  try {
    wb::cluster_spec_from_env();
    FAIL() << "rank 2 of 2 accepted";
  } catch (const wb::Error& e) {
    EXPECT_NE(std::string(e.what()).find("(torchrun): rank 2 of 2"), std::string::npos) << e.what();
  }
  Environment bad({{"RANK", "one"}, {"WORLD_SIZE", "2"}});
  EXPECT_THROW(wb::cluster_spec_from_env(), wb::Error);
}
