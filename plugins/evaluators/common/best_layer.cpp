#include "best_layer.hpp"

namespace probe {

void BestLayer::offer(int64_t l, double val_accuracy, double test_accuracy) {
  if (val_accuracy <= val) return;
  layer = l;
  val = val_accuracy;
  test = test_accuracy;
}

void BestLayer::report(wb::PluginContext& ctx, const std::string& prefix) const {
  ctx.results().result(prefix + "best_layer", -1, "val", static_cast<double>(layer));
  ctx.results().result(prefix + "best_layer_accuracy", -1, "val", val);
  ctx.results().result(prefix + "best_layer_accuracy", -1, "test", test);
  ctx.info("best layer (on val): {} with test accuracy {:.2f}%", layer, 100 * test);
}

}  // namespace probe
