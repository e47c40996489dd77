#include "distributed/launch_env.hpp"

#include <cstdlib>
#include <vector>

#include <fmt/format.h>
#include <workbench/error.hpp>

#include "distributed/launcher.hpp"

namespace wb {

namespace {

const char* const kRankVar = "WB_RANK";
const char* const kWorldVar = "WB_WORLD_SIZE";
const char* const kLocalRankVar = "WB_LOCAL_RANK";
const char* const kLocalWorldVar = "WB_LOCAL_WORLD_SIZE";
const char* const kAddrVar = "WB_MASTER_ADDR";
const char* const kPortVar = "WB_MASTER_PORT";
const char* const kTimeoutVar = "WB_DIST_TIMEOUT";

bool is_set(const char* name) {
  const char* v = std::getenv(name);
  return v && *v;
}

int64_t int_var(const char* name, int64_t fallback, int64_t min) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  long long x = std::strtoll(v, &end, 10);
  if (*end != '\0' || x < min)
    throw Error(fmt::format("environment variable {}='{}' is not an integer >= {}", name, v, min));
  return x;
}

// The variables a launcher sets for each worker.
struct LauncherVars {
  const char* launcher;
  const char *rank, *world, *local_rank, *local_world, *addr, *port;
};
const LauncherVars kWorkbenchVars = {"workbench",    kRankVar, kWorldVar, kLocalRankVar,
                                     kLocalWorldVar, kAddrVar, kPortVar};
const LauncherVars kTorchrunVars = {"torchrun",         "RANK",        "WORLD_SIZE", "LOCAL_RANK",
                                    "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"};

ClusterSpec from_vars(const LauncherVars& v) {
  ClusterSpec s;
  s.launcher = v.launcher;
  s.rank = int_var(v.rank, 0, 0);
  s.world = int_var(v.world, 1, 1);
  s.local_rank = int_var(v.local_rank, 0, 0);
  s.local_world = int_var(v.local_world, 1, 1);
  if (is_set(v.addr)) s.master_addr = std::getenv(v.addr);
  s.master_port = int_var(v.port, s.master_port, 1);
  return s;
}

ClusterSpec from_torchrun() {
  ClusterSpec s = from_vars(kTorchrunVars);
  const char* agent = std::getenv("TORCHELASTIC_USE_AGENT_STORE");
  s.store_hosted = agent && std::string(agent) == "True";
  return s;
}

// An srun step's task: SLURM_STEP_ID is set inside one (not in the batch script).
bool in_slurm_step() {
  return is_set("SLURM_PROCID") && is_set("SLURM_NTASKS") &&
         (is_set("SLURM_STEP_ID") || is_set("SLURM_STEPID"));
}

ClusterSpec from_slurm(const std::string& master) {
  ClusterSpec s;
  s.launcher = "slurm";
  s.rank = int_var("SLURM_PROCID", 0, 0);
  s.world = int_var("SLURM_NTASKS", 1, 1);
  s.local_rank = int_var("SLURM_LOCALID", 0, 0);
  const int64_t node = int_var("SLURM_NODEID", 0, 0);
  if (is_set("SLURM_TASKS_PER_NODE")) {
    const auto per_node = slurm_tasks_per_node(std::getenv("SLURM_TASKS_PER_NODE"));
    if (node < static_cast<int64_t>(per_node.size())) s.local_world = per_node[node];
  }
  s.local_world = std::max(s.local_world, s.local_rank + 1);
  if (!master.empty()) {
    parse_master(master, &s.master_addr, &s.master_port);
  } else if (is_set("MASTER_ADDR")) {
    s.master_addr = std::getenv("MASTER_ADDR");
    s.master_port = int_var("MASTER_PORT", s.master_port, 1);
  } else if (is_set("SLURM_JOB_NODELIST") || is_set("SLURM_NODELIST")) {
    s.master_addr = first_slurm_host(
        std::getenv(is_set("SLURM_JOB_NODELIST") ? "SLURM_JOB_NODELIST" : "SLURM_NODELIST"));
    s.master_port = int_var("MASTER_PORT", s.master_port, 1);
  } else {
    throw Error(
        "SLURM step of several tasks but no master: give --master ADDR:PORT, or set "
        "MASTER_ADDR, or run inside a job (SLURM_JOB_NODELIST)");
  }
  return s;
}

}  // namespace

void write_cluster_env(const ClusterSpec& s) {
  setenv(kRankVar, std::to_string(s.rank).c_str(), 1);
  setenv(kWorldVar, std::to_string(s.world).c_str(), 1);
  setenv(kLocalRankVar, std::to_string(s.local_rank).c_str(), 1);
  setenv(kLocalWorldVar, std::to_string(s.local_world).c_str(), 1);
  setenv(kAddrVar, s.master_addr.c_str(), 1);
  setenv(kPortVar, std::to_string(s.master_port).c_str(), 1);
  setenv(kTimeoutVar, std::to_string(s.timeout.count()).c_str(), 1);
}

std::string first_slurm_host(const std::string& nodelist) {
  // The first entry: up to a comma outside brackets.
  std::string first;
  int depth = 0;
  for (char c : nodelist) {
    if (c == '[') ++depth;
    if (c == ']') --depth;
    if (c == ',' && depth == 0) break;
    first += c;
  }
  const auto open = first.find('[');
  if (open == std::string::npos) return first;
  // prefix[01-04,07]suffix -> prefix01suffix
  const auto close = first.find(']', open);
  const std::string inside = first.substr(open + 1, close - open - 1);
  const std::string lowest = inside.substr(0, inside.find_first_of(",-"));
  return first.substr(0, open) + lowest +
         (close == std::string::npos ? "" : first.substr(close + 1));
}

std::vector<int64_t> slurm_tasks_per_node(const std::string& text) {
  std::vector<int64_t> out;
  size_t i = 0;
  while (i < text.size()) {
    size_t end = text.find(',', i);
    if (end == std::string::npos) end = text.size();
    const std::string item = text.substr(i, end - i);  // "2" or "2(x3)"
    try {
      const int64_t tasks = std::stoll(item);
      int64_t repeat = 1;
      if (const auto x = item.find("(x"); x != std::string::npos)
        repeat = std::stoll(item.substr(x + 2));
      for (int64_t r = 0; r < repeat; ++r) out.push_back(tasks);
    } catch (const std::exception&) {
      throw Error(fmt::format("SLURM_TASKS_PER_NODE='{}' is not like 2(x3),1", text));
    }
    i = end + 1;
  }
  return out;
}

std::optional<ClusterSpec> cluster_spec_from_env(const std::string& master) {
  ClusterSpec s;
  if (is_set(kRankVar))
    s = from_vars(kWorkbenchVars);
  else if (is_set("RANK") && is_set("WORLD_SIZE"))
    s = from_torchrun();
  else if (in_slurm_step() && int_var("SLURM_NTASKS", 1, 1) > 1)
    s = from_slurm(master);
  else
    return std::nullopt;
  s.timeout = std::chrono::seconds(int_var(kTimeoutVar, s.timeout.count(), 1));
  if (s.rank >= s.world || s.local_rank >= s.local_world || s.master_port > 65535)
    throw Error(
        fmt::format("inconsistent worker environment ({}): rank {} of {}, local rank {} of {}, "
                    "port {}",
                    s.launcher, s.rank, s.world, s.local_rank, s.local_world, s.master_port));
  return s;
}

}  // namespace wb
