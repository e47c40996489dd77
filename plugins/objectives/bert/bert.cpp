// Masked-token pretraining (paper §3): each position is masked independently with
// probability p (0.15); a masked position's token embedding is zero (no [MASK] token,
// no 80/10/10 replacement); attention is bidirectional; the loss covers the masked
// positions only: per example the sum over its masked positions divided by their
// count, then the mean over the batch. Masks are drawn anew at every call.
#include <cmath>

#include <torch/nn/functional/loss.h>
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

  wb::ForwardInput prepare(const torch::Tensor& tokens, torch::Generator& gen) const override {
    wb::ForwardInput in;
    in.tokens = tokens;  // (N, S)
    // Drawn on the CPU from the run's generator, so masks are the same on any device.
    in.masked = (torch::rand(tokens.sizes(), gen) < p_).to(tokens.device());  // bool (N, S)
    in.causal = false;
    in.shift_sos = false;
    return in;
  }

  wb::LossOutput loss(const wb::ForwardInput& in, const wb::ForwardOutput& out) const override {
    const int64_t n = in.tokens.size(0), s = in.tokens.size(1), vocab = out.logits.size(-1);
    auto nats = torch::nn::functional::cross_entropy(
                    out.logits.reshape({-1, vocab}).to(torch::kFloat32), in.tokens.reshape({-1}),
                    torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone))
                    .view({n, s});           // (N, S)
    auto m = in.masked.to(torch::kFloat32);  // (N, S)
    auto count = m.sum(1);                   // (N)
    auto per_example = (nats * m).sum(1) / count.clamp_min(1);
    auto has_mask = count > 0;  // an example with nothing masked has no loss to give
    auto loss = per_example.masked_select(has_mask).mean();
    double v = loss.item<double>();
    return {loss, {{"nats_per_token", v}, {"bits_per_token", v / std::log(2.0)}}};
  }

 private:
  double p_;
};

}  // namespace

WB_PLUGIN(Objective, "bert", "1.0.0", "masked-token prediction (p = 0.15, bidirectional)", Bert)
