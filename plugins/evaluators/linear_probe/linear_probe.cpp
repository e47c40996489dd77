// Linear probe at every layer (paper §5): f^l = mean over positions of the normalised
// hidden state of layer l; a logistic regression per layer, its L2 strength chosen on
// validation; train/val/test accuracy per layer, and the best layer chosen on val.
// With labels_per_class = n, each probe is fitted on `subsets` seeded class-balanced
// subsets of n training labels per class (the paper's low-data table) and the rows
// hold the mean accuracy over subsets, with its standard deviation beside it.
#include <cmath>
#include <filesystem>

#include <torch/serialize.h>
#include <workbench/workbench.hpp>

#include "pooled_features.hpp"
#include "probe_grid.hpp"

namespace {

const std::vector<std::string> kSplits = {"train", "val", "test"};

class LinearProbe : public wb::Evaluator {
 public:
  static void declare(wb::Schema& s) {
    probe::declare_probe_keys(s);
    // Small batches are faster on the CPU: 32 extracted 233 images/s, 256 only 97 (the
    // quickstart's model on 2 cores, `--set evaluators.0.batch_size=N`).
    s.integer("batch_size", 32, "images per forward pass when extracting features").at_least(1);
    s.integer("labels_per_class", 0,
              "fit on this many training labels per class (the low-data probes); 0 = all")
        .at_least(0);
    s.integer("subsets", 5, "seeded subsets averaged when labels_per_class > 0").range(1, 100);
  }

  explicit LinearProbe(wb::PluginContext& ctx) : ctx_(ctx) {}

  void evaluate(const wb::EvalInputs& in) override {
    const auto& c = ctx_.config();
    auto features = extract(in);   // split -> L+1 x (N, d)
    if (features.empty()) return;  // stopped by the user
    const auto layers = probe::chosen_layers(c, in.model->num_layers(), "linear_probe");
    int64_t best_layer = -1;
    double best_val = -1, best_test = 0;
    for (int64_t l : layers) {
      // One fit on all training labels, or one per low-data subset.
      const int64_t per_class = c.get_int("labels_per_class");
      const int64_t subsets = per_class > 0 ? c.get_int("subsets") : 1;
      std::map<std::string, std::vector<double>> runs;
      double best_l2 = 0;  // of the full-data fit; each subset chooses its own
      for (int64_t k = 0; k < subsets; ++k) {
        torch::Tensor subset;  // undefined: every training example
        if (per_class > 0) {
          auto gen = ctx_.generator(fmt::format("labels_per_class_subset{}", k));
          subset = wb::class_balanced_subset(in.splits.at("train").labels, per_class, gen);
        }
        auto [acc_k, l2_k] = probe_layer(features, in, l, subset);
        for (const auto& [split, a] : acc_k) runs[split].push_back(a);
        best_l2 = l2_k;
      }
      std::map<std::string, double> acc;
      for (const auto& s : kSplits) {
        auto v = torch::tensor(runs[s], torch::kDouble);
        acc[s] = v.mean().item<double>();
        ctx_.results().result("accuracy", l, s, acc[s]);
        if (subsets > 1)
          ctx_.results().result("accuracy_std", l, s, v.std(/*unbiased=*/true).item<double>());
      }
      if (subsets == 1) {
        ctx_.results().result("l2", l, "val", best_l2);
        ctx_.info("layer {:>2}: train {:.2f}%  val {:.2f}%  test {:.2f}%  (l2 {:g})", l,
                  100 * acc["train"], 100 * acc["val"], 100 * acc["test"], best_l2);
      } else {
        ctx_.info(
            "layer {:>2}: train {:.2f}%  val {:.2f}%  test {:.2f}%  (mean of {} subsets "
            "of {} labels per class)",
            l, 100 * acc["train"], 100 * acc["val"], 100 * acc["test"], subsets, per_class);
      }
      if (acc["val"] > best_val) {
        best_val = acc["val"];
        best_test = acc["test"];
        best_layer = l;
      }
    }
    ctx_.results().result("best_layer", -1, "val", static_cast<double>(best_layer));
    ctx_.results().result("best_layer_accuracy", -1, "val", best_val);
    ctx_.results().result("best_layer_accuracy", -1, "test", best_test);
    ctx_.info("best layer (on val): {} with test accuracy {:.2f}%", best_layer, 100 * best_test);
  }

 private:
  // The probe of layer l: fitted on the training features (or the rows in `subset`),
  // its L2 strength chosen on validation, never on test. Returns the accuracy on
  // each split (train: the rows fitted) and the chosen L2.
  std::pair<std::map<std::string, double>, double> probe_layer(
      std::map<std::string, std::vector<torch::Tensor>>& features, const wb::EvalInputs& in,
      int64_t l, const torch::Tensor& subset) {
    auto xtr = features["train"][l];
    auto ytr = in.splits.at("train").labels;
    if (subset.defined()) {
      xtr = xtr.index_select(0, subset);
      ytr = ytr.index_select(0, subset);
    }
    auto best = probe::fit_on_grid(ctx_.config(), xtr, ytr, features["val"][l],
                                   in.splits.at("val").labels, in.num_classes);
    std::map<std::string, double> acc;
    acc["train"] = probe::accuracy(best.fit, xtr, ytr);
    for (const std::string s : {"val", "test"})
      acc[s] = probe::accuracy(best.fit, features[s][l], in.splits.at(s).labels);
    return {acc, best.l2};
  }

  // Features of every layer for every split, in one pass per split, cached by the
  // checkpoint's key so a second evaluator (or a re-run) does not recompute them.
  std::map<std::string, std::vector<torch::Tensor>> extract(const wb::EvalInputs& in) {
    std::map<std::string, std::vector<torch::Tensor>> out;
    const std::string path =
        (std::filesystem::path(ctx_.artifacts().dir("features", in.checkpoint_key)) / "features.pt")
            .string();
    const int64_t layers = in.model->num_layers() + 1;
    if (std::filesystem::exists(path)) {
      torch::serialize::InputArchive ar;
      ar.load_from(path);
      for (const auto& s : kSplits)
        for (int64_t l = 0; l < layers; ++l) {
          torch::Tensor t;
          ar.read(fmt::format("{}_{}", s, l), t);
          out[s].push_back(t);
        }
      ctx_.info("features: reusing {}", path);
      ctx_.artifacts().record("features", in.checkpoint_key, path);
      return out;
    }
    int64_t total = 0;
    for (const auto& s : kSplits) total += in.splits.at(s).tokens.size(0);
    auto progress = ctx_.progress("features", total);
    auto gen = ctx_.generator("masks");
    for (const auto& s : kSplits) {
      out[s] = probe::pooled_features(in, in.splits.at(s).tokens, gen,
                                      ctx_.config().get_int("batch_size"), ctx_, *progress);
      if (out[s].empty()) return {};  // stopped by the user
    }
    progress->finish();
    torch::serialize::OutputArchive ar;
    for (const auto& s : kSplits)
      for (int64_t l = 0; l < layers; ++l) ar.write(fmt::format("{}_{}", s, l), out[s][l]);
    ar.save_to(path + ".tmp");
    std::filesystem::rename(path + ".tmp", path);
    ctx_.artifacts().record("features", in.checkpoint_key, path);
    return out;
  }

  wb::PluginContext& ctx_;
};

}  // namespace

WB_PLUGIN(Evaluator, "linear_probe", "1.1.0",
          "logistic regression on mean-pooled features of every layer (L-BFGS)", LinearProbe)
