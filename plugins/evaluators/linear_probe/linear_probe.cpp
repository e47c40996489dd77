// Linear probe at every layer (paper §5): f^l = mean over positions of the normalised
// hidden state of layer l; a logistic regression per layer, its L2 strength chosen on
// validation; train/val/test accuracy per layer, and the best layer chosen on val.
#include <filesystem>

#include <torch/serialize.h>
#include <workbench/workbench.hpp>

#include "logistic_regression.hpp"

namespace {

const std::vector<std::string> kSplits = {"train", "val", "test"};

class LinearProbe : public wb::Evaluator {
 public:
  static void declare(wb::Schema& s) {
    s.int_list("layers", {}, "layers to probe (0 = embedding .. L = last); empty = all");
    s.number("l2_min", 1e-4, "smallest L2 strength of the grid searched on validation").at_least(0);
    s.integer("l2_steps", 4, "grid points, each 10x the last").range(1, 12);
    s.integer("max_iter", 200, "L-BFGS iterations per fit").at_least(1);
    // Small batches are faster on the CPU: 32 extracted 233 images/s, 256 only 97 (the
    // quickstart's model on 2 cores, `--set evaluators.0.batch_size=N`).
    s.integer("batch_size", 32, "images per forward pass when extracting features").at_least(1);
  }

  explicit LinearProbe(wb::PluginContext& ctx) : ctx_(ctx) {}

  void evaluate(const wb::EvalInputs& in) override {
    const auto& c = ctx_.config();
    auto features = extract(in);   // split -> L+1 x (N, d)
    if (features.empty()) return;  // stopped by the user
    std::vector<int64_t> layers = c.get_int_list("layers");
    if (layers.empty())
      for (int64_t l = 0; l <= in.model->num_layers(); ++l) layers.push_back(l);
    int64_t best_layer = -1;
    double best_val = -1, best_test = 0;
    for (int64_t l : layers) {
      if (l < 0 || l > in.model->num_layers())
        throw wb::Error(fmt::format("linear_probe: layer {} does not exist (0..{})", l,
                                    in.model->num_layers()));
      const auto& xtr = features["train"][l];
      const auto& ytr = in.splits.at("train").labels;
      // L2 strength chosen on validation, never on test.
      probe::Fit best;
      double best_l2 = 0, val_acc = -1;
      double l2 = c.get_float("l2_min");
      for (int64_t i = 0; i < c.get_int("l2_steps"); ++i, l2 *= 10) {
        auto fit = probe::fit_logistic(xtr, ytr, in.num_classes, l2, c.get_int("max_iter"));
        double acc = probe::accuracy(fit, features["val"][l], in.splits.at("val").labels);
        if (acc > val_acc) {
          val_acc = acc;
          best = fit;
          best_l2 = l2;
        }
      }
      std::map<std::string, double> acc;
      for (const auto& s : kSplits) {
        acc[s] = probe::accuracy(best, features[s][l], in.splits.at(s).labels);
        ctx_.results().result("accuracy", l, s, acc[s]);
      }
      ctx_.results().result("l2", l, "val", best_l2);
      ctx_.info("layer {:>2}: train {:.2f}%  val {:.2f}%  test {:.2f}%  (l2 {:g})", l,
                100 * acc["train"], 100 * acc["val"], 100 * acc["test"], best_l2);
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
    torch::NoGradGuard no_grad;
    in.model->module().eval();
    const int64_t b = ctx_.config().get_int("batch_size");
    int64_t total = 0;
    for (const auto& s : kSplits) total += in.splits.at(s).tokens.size(0);
    auto progress = ctx_.progress("features", total);
    auto gen = ctx_.generator("masks");
    for (const auto& s : kSplits) {
      const auto& tokens = in.splits.at(s).tokens;
      std::vector<std::vector<torch::Tensor>> parts(layers);
      for (int64_t i = 0; i < tokens.size(0); i += b) {
        auto x = tokens.slice(0, i, std::min(tokens.size(0), i + b)).to(ctx_.device());
        auto fin = in.objective->prepare(x, gen);  // the objective's view: causal or masked
        fin.want_features = true;
        auto fout = in.model->forward(fin);
        for (int64_t l = 0; l < layers; ++l)
          parts[l].push_back(fout.features[l].to(torch::kCPU, torch::kFloat32));
        progress->advance(x.size(0));
        if (ctx_.stop_requested()) return {};  // the host records the run as interrupted
      }
      for (int64_t l = 0; l < layers; ++l) out[s].push_back(torch::cat(parts[l]));
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

WB_PLUGIN(Evaluator, "linear_probe", "1.0.0",
          "logistic regression on mean-pooled features of every layer (L-BFGS)", LinearProbe)
