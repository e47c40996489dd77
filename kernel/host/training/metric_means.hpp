#pragma once
// Means of an objective's metrics over many batches, kept on the device: adding costs
// no synchronisation; read() copies them to the host once (a log interval, a
// validation).
#include <map>
#include <string>

#include <torch/types.h>

namespace wb {

class MetricMeans {
 public:
  // Adds each metric (a scalar tensor) with weight w (a batch's share).
  void add(const std::map<std::string, torch::Tensor>& metrics, double w = 1.0);
  bool empty() const { return sums_.empty(); }
  // The weighted means, in one copy to the host; then starts over.
  std::map<std::string, double> read();

 private:
  struct Sum {
    torch::Tensor value;  // float64 scalar on the metric's device
    double weight = 0;    // a metric missing from some batches is the mean of the rest
  };
  std::map<std::string, Sum> sums_;
};

}  // namespace wb
