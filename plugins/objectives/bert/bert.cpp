// Masked-token pretraining (paper §3): each position is masked independently with
// probability p (0.15); a masked position's token embedding is zero (no [MASK] token,
// no 80/10/10 replacement); attention is bidirectional; the loss covers the masked
// positions only: per example the sum over its masked positions divided by their
// count, then the mean over the examples that have any. Masks are drawn anew at every
// call.
#include <cmath>

#include <workbench/workbench.hpp>

namespace {

class Bert : public wb::Objective {
 public:
  static void declare(wb::Schema& s) {
    s.number("mask_prob", 0.15,
             "probability that a position is masked (paper: 0.15; 0.2 "
             "matched it, more was worse)")
        .range(0.01, 0.99);
  }

  explicit Bert(wb::PluginContext& ctx) : p_(ctx.config().get_float("mask_prob")) {}

  wb::TrainingBatch prepare(const torch::Tensor& tokens, torch::Generator& gen) const override {
    wb::TrainingBatch b;
    b.input.tokens = tokens;  // (N, S)
    // Drawn on the CPU from the run's generator, so masks are the same on any device.
    b.input.masked = (torch::rand(tokens.sizes(), gen) < p_).to(tokens.device());  // bool (N, S)
    b.input.causal = false;
    b.input.shift_sos = false;
    b.targets = tokens;
    // Each masked position's share: 1 / (its example's masked count x the examples
    // with any mask). An example with nothing masked has no loss to give.
    auto m = b.input.masked.to(torch::kFloat32);  // (N, S)
    auto count = m.sum(1, /*keepdim=*/true);      // (N, 1)
    auto examples = (count > 0).sum().clamp_min(1).to(torch::kFloat32);
    b.weights = m / count.clamp_min(1) / examples;  // (N, S)
    return b;
  }

  wb::LossOutput loss(const wb::TrainingBatch& b, const wb::ForwardOutput& out) const override {
    auto nats = wb::weighted_cross_entropy(b, out);  // per masked token
    auto v = nats.detach();
    return {nats, {{"nats_per_token", v}, {"bits_per_token", v / std::log(2.0)}}};
  }

 private:
  double p_;
};

}  // namespace

WB_PLUGIN(Objective, "bert", "1.1.0", "masked-token prediction (p = 0.15, bidirectional)", Bert)
