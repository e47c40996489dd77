#pragma once
// What the probing evaluators (linear_probe, mask_ensemble) share around the logistic
// regression: their config keys, the layers they probe, the L2 strength chosen on
// validation.
#include <string>
#include <vector>

#include <torch/types.h>
#include <workbench/config.hpp>

#include "logistic_regression.hpp"

namespace probe {

// The L-BFGS settings' defaults (`max_iter`, `tol`), also for a fit outside the grid
// (finetune's head_init = "probe"). Tighter than scikit-learn's default tolerance of
// 1e-4; bench/probe_vs_sklearn.sh times both.
constexpr int64_t kMaxIter = 200;
constexpr double kTolerance = 1e-6;

// The keys every probing evaluator takes: `layers` and the L2 grid and L-BFGS settings
// read by fit_on_grid.
void declare_probe_keys(wb::Schema& s);

// `layers` of an evaluator's config, all of 0..num_layers when empty; throws wb::Error
// naming `evaluator` for a layer the model does not have.
std::vector<int64_t> chosen_layers(const wb::Section& config, int64_t num_layers,
                                   const std::string& evaluator);

// One fit per L2 strength of the config's grid (l2_min, then 10x, l2_steps of them) on
// (x, y); the one with the best accuracy on (x_val, y_val) wins, never the test split.
struct Chosen {
  Fit fit;
  double l2 = 0;
};
Chosen fit_on_grid(const wb::Section& config, const torch::Tensor& x, const torch::Tensor& y,
                   const torch::Tensor& x_val, const torch::Tensor& y_val, int64_t classes);

}  // namespace probe
