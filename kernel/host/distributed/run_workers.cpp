#include "distributed/run_workers.hpp"

namespace wb {

void RunWorkers::leader_first(const std::string& key, const std::function<void()>& make) const {
  if (cluster_ && !leader()) cluster_->leader_says(key, "");
  make();
  if (cluster_ && leader()) cluster_->leader_says(key, "ready");
}

std::string RunWorkers::outcome(const std::string& key, const std::string& mine) const {
  return cluster_ ? cluster_->leader_says(key, mine) : mine;
}

void RunWorkers::tell(const std::string& key, const std::string& value) const {
  if (cluster_ && leader()) cluster_->leader_says(key, value);
}

}  // namespace wb
