#include "training/metric_means.hpp"

#include <vector>

namespace wb {

void MetricMeans::add(const std::map<std::string, torch::Tensor>& metrics, double w) {
  for (const auto& [name, value] : metrics) {
    auto v = value.detach().to(torch::kFloat64) * w;
    auto& sum = sums_[name];
    sum.value = sum.value.defined() ? sum.value + v : v;
    sum.weight += w;
  }
}

std::map<std::string, double> MetricMeans::read() {
  std::map<std::string, double> out;
  if (sums_.empty()) return out;
  std::vector<torch::Tensor> parts;
  for (const auto& kv : sums_) parts.push_back(kv.second.value.reshape({1}));
  auto host = torch::cat(parts).cpu();  // the one synchronisation
  int64_t i = 0;
  for (const auto& kv : sums_) out[kv.first] = host[i++].item<double>() / kv.second.weight;
  sums_.clear();
  return out;
}

}  // namespace wb
