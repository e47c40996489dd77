// Autoregressive pretraining in reverse raster order: each pixel is predicted from
// the pixels below and to the right of it. An example of a new objective plugin
// (docs/writing-a-plugin.md); the model is untouched, only the view of the data changes.
#include <cmath>

#include <torch/nn/functional/loss.h>
#include <workbench/workbench.hpp>

namespace {

class ReverseAr : public wb::Objective {
 public:
  // Every key the experiment file may set, with its type, default and doc. The host
  // refuses any other key before the plugin runs.
  static void declare(wb::Schema& s) {
    s.number("label_smoothing", 0.0, "share of the target's probability spread over all tokens")
        .range(0.0, 0.5);
  }

  explicit ReverseAr(wb::PluginContext& ctx)
      : smoothing_(ctx.config().get_float("label_smoothing")) {
    ctx.info("predicting pixels in reverse raster order, label smoothing {}", smoothing_);
  }

  wb::ForwardInput prepare(const torch::Tensor& tokens, torch::Generator&) const override {
    wb::ForwardInput in;
    in.tokens = tokens.flip({1});  // (N, S): last pixel first
    in.causal = true;              // position i attends to positions <= i
    in.shift_sos = true;           // input [sos, x_S .. x_2], targets x_S .. x_1
    return in;
  }

  wb::LossOutput loss(const wb::ForwardInput& in, const wb::ForwardOutput& out) const override {
    const int64_t vocab = out.logits.size(-1);
    auto nats = torch::nn::functional::cross_entropy(
        out.logits.reshape({-1, vocab}), in.tokens.reshape({-1}),
        torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(smoothing_));
    const double v = nats.item<double>();
    return {nats, {{"nats_per_token", v}, {"bits_per_token", v / std::log(2.0)}}};
  }

 private:
  double smoothing_;
};

}  // namespace

// kind, name (what [objective] plugin = "..." selects), version, one-line description.
WB_PLUGIN(Objective, "reverse_ar", "0.1.0", "autoregressive in reverse raster order", ReverseAr)
