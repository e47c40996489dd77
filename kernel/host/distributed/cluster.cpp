#include "distributed/cluster.hpp"

#include <fmt/format.h>
#include <torch/torch.h>
#include <workbench/error.hpp>

namespace wb {

void collective_failed(const ClusterSpec& spec, const std::string& what, const std::exception& e) {
  const std::string msg = e.what();
  throw Error(fmt::format(
      "rank {} of {}: {} failed (a worker died or stopped answering within "
      "{} s): {}",
      spec.rank, spec.world, what, spec.timeout.count(), msg.substr(0, msg.find('\n'))));
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
