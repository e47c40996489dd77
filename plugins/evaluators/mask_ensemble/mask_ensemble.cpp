// The BERT mask ensemble (paper §5): a BERT model sees its input with about 15% of the
// positions masked, so one prediction depends on which. At evaluation each input is
// seen under K independent masks, each seen version is classified, and the majority
// vote decides (ties broken at random, seeded). For every chosen layer a linear probe
// (logistic regression on the pooled features, L2 chosen on validation) is fitted on
// the training split under one mask per input; val and test accuracy are reported for
// a single mask (the mean over the K masks) and for the ensemble, side by side. The
// fine-tuned classifier's ensemble is the `masks` key of the finetune evaluator.
// The first mask's features are the run's shared ones (EvalInputs::features, the ones
// linear_probe reads), so after a linear_probe only the K - 1 further masks of val and
// test run.
// Refuses a checkpoint whose objective does not mask (AR).
#include <workbench/workbench.hpp>

#include "majority_vote.hpp"
#include "probe_grid.hpp"

namespace {

class MaskEnsemble : public wb::Evaluator {
 public:
  static void declare(wb::Schema& s) {
    s.integer("masks", 5, "independent masks per input (K)").range(1, 100);
    probe::declare_probe_keys(s);
    s.integer("batch_size", 32, "images per forward pass").at_least(1);
  }

  explicit MaskEnsemble(wb::PluginContext& ctx) : ctx_(ctx) {}

  void evaluate(const wb::EvalInputs& in) override {
    const auto& c = ctx_.config();
    auto check_gen = ctx_.generator("refusal_check");
    probe::require_masking_objective(*in.objective, check_gen, "mask_ensemble");
    const auto layers = probe::chosen_layers(c, in.model->num_layers(), "mask_ensemble");
    const int64_t k = c.get_int("masks");
    for (const std::string split : {"train", "val", "test"})
      if (in.splits.at(split).tokens.size(0) == 0)
        throw wb::Error(fmt::format("mask_ensemble: the {} split is empty", split));

    // Features of every layer: the training split under one mask (the shared cache's),
    // val and test under k: the cache's mask, then k - 1 fresh ones.
    auto shared = in.feature_service().pooled(1, c.get_int("batch_size"));
    if (shared.empty()) return;  // stopped by the user
    auto gen = ctx_.generator("masks");
    const std::vector<std::vector<torch::Tensor>> train = {shared.at("train")};
    auto val = more_masks(in, "val", shared.at("val"), k, gen);
    auto test = more_masks(in, "test", shared.at("test"), k, gen);
    if (val.empty() || test.empty()) return;  // stopped by the user

    auto vote_gen = ctx_.generator("ties");
    const auto& ytr = in.splits.at("train").labels;
    for (int64_t l : layers) {
      // The L2 strength chosen on the first mask's validation accuracy.
      const probe::Fit best = probe::fit_on_grid(c, train[0][l], ytr, val[0][l],
                                                 in.splits.at("val").labels, in.num_classes)
                                  .fit;
      std::map<std::string, std::pair<double, double>> acc;  // split -> (single, ensemble)
      for (const auto& [split, feats] : {std::pair{"val", &val}, std::pair{"test", &test}}) {
        const auto& y = in.splits.at(split).labels;
        std::vector<torch::Tensor> preds;
        double single = 0;
        for (int64_t m = 0; m < k; ++m) {
          preds.push_back(probe::predict(best, (*feats)[m][l]));
          single += preds.back().eq(y).to(torch::kDouble).mean().item<double>() / double(k);
        }
        auto vote = probe::majority_vote(torch::stack(preds), in.num_classes, vote_gen);
        const double ensemble = vote.eq(y).to(torch::kDouble).mean().item<double>();
        ctx_.results().result("accuracy_single_mask", l, split, single);
        ctx_.results().result("accuracy_ensemble", l, split, ensemble);
        acc[split] = {single, ensemble};
      }
      ctx_.info(
          "layer {:>2}: test {:.2f}% with one mask, {:.2f}% with the vote of {} (val "
          "{:.2f}% / {:.2f}%)",
          l, 100 * acc["test"].first, 100 * acc["test"].second, k, 100 * acc["val"].first,
          100 * acc["val"].second);
    }
  }

 private:
  // [mask][layer] -> (N, d): `first` (the features of `split` under one mask), then
  // those under masks - 1 fresh masks.
  std::vector<std::vector<torch::Tensor>> more_masks(const wb::EvalInputs& in,
                                                     const std::string& split,
                                                     std::vector<torch::Tensor> first,
                                                     int64_t masks, torch::Generator& gen) {
    const auto& tokens = in.splits.at(split).tokens;
    std::vector<std::vector<torch::Tensor>> out = {std::move(first)};
    if (masks == 1) return out;
    auto progress = ctx_.progress(fmt::format("{} x {} more masks", split, masks - 1),
                                  (masks - 1) * tokens.size(0));
    for (int64_t m = 1; m < masks; ++m) {  // a fresh mask at every call of the objective
      out.push_back(
          in.feature_service().pass(tokens, gen, ctx_.config().get_int("batch_size"), *progress));
      if (out.back().empty()) return {};  // stopped by the user
    }
    progress->finish();
    return out;
  }

  wb::PluginContext& ctx_;
};

}  // namespace

WB_PLUGIN(Evaluator, "mask_ensemble", "1.1.0",
          "BERT: probe accuracy with one mask and with the majority vote of K masks", MaskEnsemble)
