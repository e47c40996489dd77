#include "probe_grid.hpp"

#include <fmt/format.h>
#include <workbench/error.hpp>

namespace probe {

void declare_probe_keys(wb::Schema& s) {
  s.int_list("layers", {}, "layers to probe (0 = embedding .. L = last); empty = all");
  s.number("l2_min", 1e-4, "smallest L2 strength of the grid searched on validation").at_least(0);
  s.integer("l2_steps", 4, "grid points, each 10x the last").range(1, 12);
  s.integer("max_iter", kMaxIter, "L-BFGS iterations per fit").at_least(1);
  s.number("tol", kTolerance, "stop a fit when no gradient entry exceeds this").at_least(0);
}

std::vector<int64_t> chosen_layers(const wb::Section& config, int64_t num_layers,
                                   const std::string& evaluator) {
  std::vector<int64_t> layers = config.get_int_list("layers");
  if (layers.empty())
    for (int64_t l = 0; l <= num_layers; ++l) layers.push_back(l);
  for (int64_t l : layers)
    if (l < 0 || l > num_layers)
      throw wb::Error(fmt::format("{}: layer {} does not exist (0..{})", evaluator, l, num_layers));
  return layers;
}

Chosen fit_on_grid(const wb::Section& config, const torch::Tensor& x, const torch::Tensor& y,
                   const torch::Tensor& x_val, const torch::Tensor& y_val, int64_t classes) {
  Chosen best;
  double best_acc = -1, l2 = config.get_float("l2_min");
  for (int64_t i = 0; i < config.get_int("l2_steps"); ++i, l2 *= 10) {
    auto fit = fit_logistic(x, y, classes, l2, config.get_int("max_iter"), config.get_float("tol"));
    const double acc = accuracy(fit, x_val, y_val);
    if (acc > best_acc) {
      best_acc = acc;
      best = {fit, l2};
    }
  }
  return best;
}

}  // namespace probe
