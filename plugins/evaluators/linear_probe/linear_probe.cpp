// Linear probe at every layer (paper §5): f^l = mean over positions of the normalised
// hidden state of layer l; a logistic regression per layer, its L2 strength chosen on
// validation; train/val/test accuracy per layer, and the best layer chosen on val.
// With labels_per_class = n, each probe is fitted on `subsets` seeded class-balanced
// subsets of n training labels per class (the paper's low-data table) and the rows
// hold the mean accuracy over subsets, with its standard deviation beside it.
// With concat = n, the features of n consecutive layers centred on the best layer are
// also probed as one (the paper's concatenation), as `concat_accuracy` rows.
// With input = "pixels" the same probe reads the raw pixels at the run's resolution
// instead (the baseline a pretrained model must beat), as `pixel_accuracy` rows.
// With pool_grid = g > 1 each layer's feature is the means over g x g image regions
// side by side (g*g*width features) in place of the paper's one mean over the image,
// and its rows are named "grid<g>_accuracy", "grid<g>_best_layer", ...: never mixed
// with the paper's feature in a table that reads "accuracy".
// The features come from the run's feature service (EvalInputs::features).
#include <cmath>

#include <workbench/workbench.hpp>

#include "best_layer.hpp"
#include "layer_concat.hpp"
#include "probe_grid.hpp"

namespace {

const std::vector<std::string> kSplits = {"train", "val", "test"};

// One probe's accuracy on each split: of one fit on all training labels, or the mean
// (and standard deviation) over the low-data subsets' fits.
struct Score {
  std::map<std::string, double> mean, std;
  double l2 = 0;        // the full-data fit's; each subset chooses its own
  int64_t subsets = 1;  // fits averaged
};

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
    s.string("input", "model",
             "what the probe reads: the model's pooled features of every layer, or the raw "
             "pixels at the run's resolution (the baseline)")
        .one_of({"model", "pixels"});
    s.integer("concat", 1,
              "also probe the features of this many consecutive layers centred on the best "
              "layer, side by side (the paper's concatenation); 1 = off")
        .at_least(1);
    s.integer("pool_grid", 1,
              "1 = the paper's feature, the mean over all positions; g > 1 = the means over "
              "g x g regions of the image, side by side (g*g*width features)")
        .at_least(1);
  }

  explicit LinearProbe(wb::PluginContext& ctx)
      : ctx_(ctx),
        prefix_(ctx.config().get_int("pool_grid") > 1
                    ? fmt::format("grid{}_", ctx.config().get_int("pool_grid"))
                    : "") {}

  void evaluate(const wb::EvalInputs& in) override {
    const auto& c = ctx_.config();
    if (c.get_string("input") == "pixels") return probe_pixels(in);
    const int64_t num_layers = in.model->num_layers();
    const int64_t concat = c.get_int("concat");
    if (concat > 1) probe::concat_window(0, concat, num_layers);  // refuse before the work
    const auto layers = probe::chosen_layers(c, num_layers, "linear_probe");
    const int64_t grid = c.get_int("pool_grid");
    auto features = in.feature_service().pooled(grid, c.get_int("batch_size"));
    if (features.empty()) return;  // stopped by the user
    if (grid > 1)
      ctx_.info("features: means over {}x{} regions, {} per layer", grid, grid,
                features.at("train").front().size(1));

    probe::BestLayer best;
    for (int64_t l : layers) {
      if (ctx_.stop_requested()) return;  // between fits: the host records "interrupted"
      std::map<std::string, torch::Tensor> x;
      for (const auto& s : kSplits) x[s] = features[s][l];
      const Score sc = score(x, in);
      write("accuracy", l, sc);
      if (sc.subsets == 1)
        ctx_.info("layer {:>2}: train {:.2f}%  val {:.2f}%  test {:.2f}%  (l2 {:g})", l,
                  100 * sc.mean.at("train"), 100 * sc.mean.at("val"), 100 * sc.mean.at("test"),
                  sc.l2);
      else
        ctx_.info(
            "layer {:>2}: train {:.2f}%  val {:.2f}%  test {:.2f}%  (mean of {} subsets "
            "of {} labels per class)",
            l, 100 * sc.mean.at("train"), 100 * sc.mean.at("val"), 100 * sc.mean.at("test"),
            sc.subsets, c.get_int("labels_per_class"));
      best.offer(l, sc.mean.at("val"), sc.mean.at("test"));
    }
    best.report(ctx_, prefix_);
    const int64_t best_layer = best.layer;

    if (concat > 1) {
      const auto window = probe::concat_window(best_layer, concat, num_layers);
      std::map<std::string, torch::Tensor> x;
      for (const auto& s : kSplits) x[s] = probe::concat_features(features[s], window);
      const Score sc = score(x, in);
      write("concat_accuracy", best_layer, sc);
      ctx_.results().result(prefix_ + "concat_first_layer", best_layer, "val",
                            double(window.front()));
      ctx_.info("layers {}..{} concatenated ({} features): val {:.2f}%  test {:.2f}%",
                window.front(), window.back(), x["train"].size(1), 100 * sc.mean.at("val"),
                100 * sc.mean.at("test"));
    }
  }

 private:
  // The raw-pixel baseline: the images at the run's resolution, before the palette,
  // flattened to (N, H*W*C) in [0, 1], through the same probe.
  void probe_pixels(const wb::EvalInputs& in) {
    if (!in.images)
      throw wb::Error("linear_probe: input = \"pixels\" but the host gives no images");
    if (ctx_.config().get_int("pool_grid") != 1)
      throw wb::Error(
          "linear_probe: pool_grid pools the model's features; input = \"pixels\" "
          "reads every pixel already (leave pool_grid at 1)");
    std::map<std::string, torch::Tensor> x;
    for (const auto& s : kSplits) {
      const wb::ImageSplit split = in.images(s);
      if (!torch::equal(split.labels, in.splits.at(s).labels))
        throw wb::Error("linear_probe: the images of the " + s +
                        " split are not in the order of its tokens");
      x[s] = split.images.flatten(1).to(torch::kFloat32) / 255.0;
    }
    const Score sc = score(x, in);
    write("pixel_accuracy", -1, sc);
    ctx_.info("raw pixels ({} features): train {:.2f}%  val {:.2f}%  test {:.2f}%",
              x["train"].size(1), 100 * sc.mean.at("train"), 100 * sc.mean.at("val"),
              100 * sc.mean.at("test"));
  }

  // The probe of features x (split -> (N, F)): fitted on all training rows, or once per
  // seeded class-balanced subset when labels_per_class > 0; the L2 strength chosen on
  // validation, never on test. Train accuracy is on the rows fitted.
  Score score(const std::map<std::string, torch::Tensor>& x, const wb::EvalInputs& in) {
    const auto& c = ctx_.config();
    const int64_t per_class = c.get_int("labels_per_class");
    Score sc;
    sc.subsets = per_class > 0 ? c.get_int("subsets") : 1;
    std::map<std::string, std::vector<double>> runs;
    for (int64_t k = 0; k < sc.subsets; ++k) {
      auto xtr = x.at("train");
      auto ytr = in.splits.at("train").labels;
      if (per_class > 0) {
        auto gen = ctx_.generator(fmt::format("labels_per_class_subset{}", k));
        auto subset = wb::class_balanced_subset(ytr, per_class, gen);
        xtr = xtr.index_select(0, subset);
        ytr = ytr.index_select(0, subset);
      }
      auto best =
          probe::fit_on_grid(c, xtr, ytr, x.at("val"), in.splits.at("val").labels, in.num_classes);
      runs["train"].push_back(probe::accuracy(best.fit, xtr, ytr));
      for (const std::string s : {"val", "test"})
        runs[s].push_back(probe::accuracy(best.fit, x.at(s), in.splits.at(s).labels));
      sc.l2 = best.l2;
    }
    for (const auto& s : kSplits) {
      auto v = torch::tensor(runs[s], torch::kDouble);
      sc.mean[s] = v.mean().item<double>();
      if (sc.subsets > 1) sc.std[s] = v.std(/*unbiased=*/true).item<double>();
    }
    return sc;
  }

  // `metric` per split at `layer`, with `metric`_std beside it over subsets, or the
  // chosen L2 of a full-data fit; each named after the pooling (prefix_).
  void write(const std::string& metric, int64_t layer, const Score& sc) {
    const std::string m = prefix_ + metric;
    for (const auto& s : kSplits) {
      ctx_.results().result(m, layer, s, sc.mean.at(s));
      if (sc.subsets > 1) ctx_.results().result(m + "_std", layer, s, sc.std.at(s));
    }
    if (sc.subsets == 1)
      ctx_.results().result(metric == "accuracy" ? prefix_ + "l2" : m + "_l2", layer, "val", sc.l2);
  }

  wb::PluginContext& ctx_;
  const std::string prefix_;  // "" for the paper's mean, "grid<g>_" for region means
};

}  // namespace

WB_PLUGIN(Evaluator, "linear_probe", "1.4.0",
          "logistic regression on mean-pooled features of every layer (L-BFGS)", LinearProbe)
