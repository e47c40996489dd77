// Autoregressive pretraining (paper §3): predict each token from those before it in
// raster order. The model sees [sos, x1 .. x(n-1)] under causal attention; the loss
// is the cross-entropy of x1 .. xn, averaged over positions.
#include <cmath>

#include <torch/nn/functional/loss.h>
#include <workbench/workbench.hpp>

namespace {

class Autoregressive : public wb::Objective {
 public:
  static void declare(wb::Schema&) {}
  explicit Autoregressive(wb::PluginContext&) {}

  wb::ForwardInput prepare(const torch::Tensor& tokens, torch::Generator&) const override {
    wb::ForwardInput in;
    in.tokens = tokens;  // (N, S)
    in.causal = true;
    in.shift_sos = true;
    return in;
  }

  wb::LossOutput loss(const wb::ForwardInput& in, const wb::ForwardOutput& out) const override {
    const int64_t vocab = out.logits.size(-1);
    auto nats = torch::nn::functional::cross_entropy(
        out.logits.reshape({-1, vocab}).to(torch::kFloat32), in.tokens.reshape({-1}));
    double v = nats.item<double>();
    return {nats, {{"nats_per_token", v}, {"bits_per_token", v / std::log(2.0)}}};
  }
};

}  // namespace

WB_PLUGIN(Objective, "ar", "1.0.0", "autoregressive next-pixel prediction (causal, SOS shift)",
          Autoregressive)
