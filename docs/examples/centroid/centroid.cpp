// Nearest class mean: each val and test image takes the class whose mean training
// feature is the most cosine-similar to its own, at every layer. The features are the
// run's (EvalInputs::feature_service): after a linear probe, no pass of the model.
#include <torch/nn/functional/normalization.h>
#include <workbench/workbench.hpp>

namespace {

class Centroid : public wb::Evaluator {
 public:
  static void declare(wb::Schema& s) {
    s.integer("batch_size", 32, "images per forward pass if the features are not cached yet")
        .at_least(1);
  }

  explicit Centroid(wb::PluginContext& ctx) : ctx_(ctx) {}

  void evaluate(const wb::EvalInputs& in) override {
    // split -> L + 1 tensors (N, d), float32 on the CPU.
    auto features = in.feature_service().pooled(/*grid=*/1, ctx_.config().get_int("batch_size"));
    if (features.empty()) return;  // the user asked the run to stop
    // (N, C): the training labels, one-hot.
    auto one_hot = torch::one_hot(in.splits.at("train").labels, in.num_classes).to(torch::kFloat32);
    auto unit = [](const torch::Tensor& x) { return torch::nn::functional::normalize(x); };
    for (size_t l = 0; l < features.at("train").size(); ++l) {
      // (C, d): each class's mean of the unit-length training features.
      auto means = unit(one_hot.t().matmul(unit(features.at("train")[l])));
      for (const std::string split : {"val", "test"}) {
        auto guess = unit(features.at(split)[l]).matmul(means.t()).argmax(1);  // (N)
        const double acc =
            guess.eq(in.splits.at(split).labels).to(torch::kDouble).mean().item<double>();
        ctx_.results().result("accuracy", static_cast<int64_t>(l), split, acc);
        ctx_.info("layer {:>2}: {} accuracy {:.2f}%", l, split, 100 * acc);
      }
    }
  }

 private:
  wb::PluginContext& ctx_;
};

}  // namespace

WB_PLUGIN(Evaluator, "centroid", "1.0.0",
          "accuracy of the nearest class mean (cosine) on every layer's pooled features", Centroid)
