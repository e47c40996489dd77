// The weighted k-nearest-neighbour evaluation (the one DINO and VISSL report beside the
// linear probe): for every chosen layer, each val and test image's pooled features
// vote with their k most cosine-similar training images, weighted exp(similarity / T)
// (probe::knn_vote). No fit, so no L2 grid: a cheap second opinion on the features
// that the linear probe's numbers can be read against. The features are the
// run's shared pooled ones (EvalInputs::features): after a linear probe, no pass.
#include <workbench/workbench.hpp>

#include "best_layer.hpp"
#include "knn_vote.hpp"
#include "probe_grid.hpp"

namespace {

class Knn : public wb::Evaluator {
 public:
  static void declare(wb::Schema& s) {
    s.int_list("layers", {}, "layers to evaluate (0 = embedding .. L = last); empty = all");
    // DINO's defaults: 20 neighbours, temperature 0.07.
    s.integer("k", 20, "neighbours that vote").range(1, 10000);
    s.number("temperature", 0.07, "T of the vote's weights exp(cosine similarity / T)")
        .range(1e-4, 100);
    s.integer("batch_size", 32, "images per forward pass when extracting features").at_least(1);
  }

  explicit Knn(wb::PluginContext& ctx) : ctx_(ctx) {}

  void evaluate(const wb::EvalInputs& in) override {
    const auto& c = ctx_.config();
    const auto layers = probe::chosen_layers(c, in.model->num_layers(), "knn");
    for (const std::string split : {"train", "val", "test"})
      if (in.splits.at(split).tokens.size(0) == 0)
        throw wb::Error(fmt::format("knn: the {} split is empty", split));
    auto features = in.feature_service().pooled(1, c.get_int("batch_size"));
    if (features.empty()) return;  // stopped by the user
    const int64_t k = c.get_int("k");
    const double t = c.get_float("temperature");
    const auto& ytr = in.splits.at("train").labels;
    probe::BestLayer best;
    for (int64_t l : layers) {
      if (ctx_.stop_requested()) return;
      std::map<std::string, double> acc;
      for (const std::string split : {"val", "test"}) {
        const auto pred = probe::knn_vote(features.at("train")[l], ytr, features.at(split)[l], k, t,
                                          in.num_classes);
        acc[split] = pred.eq(in.splits.at(split).labels).to(torch::kDouble).mean().item<double>();
        ctx_.results().result("accuracy", l, split, acc[split]);
      }
      ctx_.info("layer {:>2}: val {:.2f}%  test {:.2f}%  ({} neighbours, T {:g})", l,
                100 * acc["val"], 100 * acc["test"], k, t);
      best.offer(l, acc["val"], acc["test"]);
    }
    best.report(ctx_);
  }

 private:
  wb::PluginContext& ctx_;
};

}  // namespace

WB_PLUGIN(Evaluator, "knn", "1.0.0",
          "weighted k-nearest-neighbour accuracy of every layer's pooled features (cosine, "
          "DINO's vote)",
          Knn)
