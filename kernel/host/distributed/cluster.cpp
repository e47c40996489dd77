#include "distributed/cluster.hpp"

#include <cstdlib>

#include <fmt/format.h>
#include <torch/torch.h>
#include <workbench/error.hpp>

namespace wb {

const char* const kRankVar = "WB_RANK";

namespace {

const char* const kWorldVar = "WB_WORLD_SIZE";
const char* const kLocalRankVar = "WB_LOCAL_RANK";
const char* const kLocalWorldVar = "WB_LOCAL_WORLD_SIZE";
const char* const kAddrVar = "WB_MASTER_ADDR";
const char* const kPortVar = "WB_MASTER_PORT";
const char* const kTimeoutVar = "WB_DIST_TIMEOUT";

int64_t int_var(const char* name, int64_t fallback, int64_t min) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  long long x = std::strtoll(v, &end, 10);
  if (*end != '\0' || x < min)
    throw Error(fmt::format("environment variable {}='{}' is not an integer >= {}", name, v, min));
  return x;
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

std::optional<ClusterSpec> cluster_spec_from_env() {
  if (!std::getenv(kRankVar)) return std::nullopt;
  ClusterSpec s;
  s.rank = int_var(kRankVar, 0, 0);
  s.world = int_var(kWorldVar, 1, 1);
  s.local_rank = int_var(kLocalRankVar, 0, 0);
  s.local_world = int_var(kLocalWorldVar, 1, 1);
  if (const char* a = std::getenv(kAddrVar); a && *a) s.master_addr = a;
  s.master_port = int_var(kPortVar, s.master_port, 1);
  s.timeout = std::chrono::seconds(int_var(kTimeoutVar, s.timeout.count(), 1));
  if (s.rank >= s.world || s.local_rank >= s.local_world || s.master_port > 65535)
    throw Error(
        fmt::format("inconsistent worker environment: rank {} of {}, local rank {} of {}, "
                    "port {}",
                    s.rank, s.world, s.local_rank, s.local_world, s.master_port));
  return s;
}

bool agree_with_leader(Cluster* cluster, bool mine) {
  if (!cluster || cluster->world() == 1) return mine;
  auto flag = torch::tensor({mine ? 1 : 0}, torch::kInt);
  cluster->broadcast(flag);
  return flag.item<int>() != 0;
}

#ifdef WB_HAVE_GLOO
std::unique_ptr<Cluster> connect_gloo_cluster(const ClusterSpec& spec);  // cluster_gloo.cpp

bool has_process_groups() {
  return true;
}
std::string process_group_unavailable_reason() {
  return "";
}
std::unique_ptr<Cluster> connect_cluster(const ClusterSpec& spec) {
  return connect_gloo_cluster(spec);
}
#else
bool has_process_groups() {
  return false;
}
std::string process_group_unavailable_reason() {
  return "this workbench was built against a LibTorch without Gloo's headers (PyPI's wheel ships "
         "none), so it has no c10d process group; build against Debian's libtorch-dev with "
         "libgloo-dev (tools/setup.sh installs both) for data-parallel runs";
}
std::unique_ptr<Cluster> connect_cluster(const ClusterSpec&) {
  throw Error("data-parallel training is unavailable: " + process_group_unavailable_reason());
}
#endif

}  // namespace wb
