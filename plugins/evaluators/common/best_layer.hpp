#pragma once
// The best layer of a probing evaluator (linear_probe, knn): the one with the highest
// validation accuracy (the first of equals), chosen on val, never on test.
#include <cstdint>
#include <string>

#include <workbench/context.hpp>

namespace probe {

struct BestLayer {
  int64_t layer = -1;
  double val = -1, test = 0;

  // Layer `l` scored `val_accuracy` and `test_accuracy`.
  void offer(int64_t l, double val_accuracy, double test_accuracy);
  // The rows `prefix`best_layer (val) and `prefix`best_layer_accuracy (val, test), and
  // the log line.
  void report(wb::PluginContext& ctx, const std::string& prefix = "") const;
};

}  // namespace probe
