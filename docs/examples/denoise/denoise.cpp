// Denoising pretraining: a share of the tokens (15 %) is replaced by random colours of
// the palette; the model sees the corrupted image with bidirectional attention and
// must give back the originals where they were replaced. An example of a new
// objective plugin (docs/writing-a-plugin.md): randomness from the host's generator,
// the palette size from the run's data facts, a loss on chosen positions, and a
// metric of its own.
#include <cmath>

#include <workbench/workbench.hpp>

namespace {

class Denoise : public wb::Objective {
 public:
  // Every key the experiment file may set, with its type, default and doc. The host
  // refuses any other key before the plugin runs.
  static void declare(wb::Schema& s) {
    s.number("replace_prob", 0.15, "probability that a token is replaced by a random colour")
        .range(0.01, 0.99);
  }

  // The palette size is a fact of the run's data, not a key to repeat.
  explicit Denoise(wb::PluginContext& ctx)
      : p_(ctx.config().get_float("replace_prob")), vocab_(ctx.data().vocab_size) {
    ctx.info("replacing {:.0f} % of tokens by random colours of {}", 100 * p_, vocab_);
  }

  wb::TrainingBatch prepare(const torch::Tensor& tokens, torch::Generator& gen) const override {
    // Drawn on the CPU from the generator the host passes: the run's, checkpointed with
    // it, so a resumed run draws the same corruption, on any device.
    auto replaced = (torch::rand(tokens.sizes(), gen) < p_).to(tokens.device());  // bool (N, S)
    auto noise = torch::randint(vocab_, tokens.sizes(), gen, torch::kLong).to(tokens.device());
    wb::TrainingBatch b;
    b.input.tokens = torch::where(replaced, noise, tokens);  // (N, S), what the model sees
    b.input.causal = false;                                  // every position sees all others
    b.input.shift_sos = false;                               // position s predicts token s
    b.targets = tokens;                                      // the originals
    // The mean over the batch's replaced positions; the others do not count.
    auto w = replaced.to(torch::kFloat32);
    b.weights = w / w.sum().clamp_min(1);  // (N, S)
    return b;
  }

  // A pure function of the batch and the model's output: no state kept since prepare().
  wb::LossOutput loss(const wb::TrainingBatch& b, const wb::ForwardOutput& out) const override {
    auto nats = wb::weighted_cross_entropy(b, out);  // per replaced token
    // The share of replaced tokens given back exactly (the weights are 0 elsewhere).
    auto right = (out.logits.argmax(-1) == b.targets).to(torch::kFloat32);  // (N, S)
    auto accuracy = (right * b.weights).sum().detach();
    // Metrics are scalar tensors: the host averages them on the device and reads them
    // once per log interval.
    return {nats,
            {{"bits_per_token", nats.detach() / std::log(2.0)}, {"denoise_accuracy", accuracy}}};
  }

 private:
  double p_;
  int64_t vocab_;
};

}  // namespace

// kind, name (what [objective] plugin = "..." selects), version, one-line description.
WB_PLUGIN(Objective, "denoise", "0.1.0", "give back randomly replaced tokens (bidirectional)",
          Denoise)
