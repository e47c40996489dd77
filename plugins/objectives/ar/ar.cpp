// Autoregressive pretraining (paper §3): predict each token from those before it in
// raster order. The model sees [sos, x1 .. x(n-1)] under causal attention; the loss
// is the cross-entropy of x1 .. xn, averaged over positions.
#include <cmath>

#include <workbench/workbench.hpp>

namespace {

class Autoregressive : public wb::Objective {
 public:
  static void declare(wb::Schema&) {}
  explicit Autoregressive(wb::PluginContext&) {}

  wb::TrainingBatch prepare(const torch::Tensor& tokens, torch::Generator&) const override {
    wb::TrainingBatch b;
    b.input.tokens = tokens;  // (N, S); the model prepends sos and drops the last
    b.input.causal = true;
    b.input.shift_sos = true;
    b.targets = tokens;  // position s predicts x_s from x_<s
    // Every position counts the same: the mean over the batch.
    b.weights = torch::full(tokens.sizes(), 1.0 / double(tokens.numel()),
                            tokens.options().dtype(torch::kFloat32));  // (N, S)
    return b;
  }

  wb::LossOutput loss(const wb::TrainingBatch& b, const wb::ForwardOutput& out) const override {
    auto nats = wb::weighted_cross_entropy(b, out);  // per token
    auto v = nats.detach();
    return {nats, {{"nats_per_token", v}, {"bits_per_token", v / std::log(2.0)}}};
  }
};

}  // namespace

WB_PLUGIN(Objective, "ar", "1.1.0", "autoregressive next-pixel prediction (causal, SOS shift)",
          Autoregressive)
