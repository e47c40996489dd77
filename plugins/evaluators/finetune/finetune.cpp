// Fine-tuning (paper §5): a linear head, zero-initialised, on the average-pooled
// normalised hidden state of the last layer (or of `layer`, the paper's best-probe
// variant), trained together with the whole model on the labelled training split.
// Loss L_CLF, or L_GEN + L_CLF (`loss = "joint"`, the paper's better choice) with
// L_GEN the pretraining objective's loss on the same batch. It steps through the host's
// optimiser (EvalInputs::optimiser: pretraining's Adam with the paper's betas, the
// run's precision, progress saved at every epoch's end and when the run is stopped,
// resumed by the next run of this evaluation), at a constant learning rate (the
// paper's), or pretraining's schedule: a linear
// warm-up over `warmup_steps` (fresh Adam moments take full-size first steps, which
// disturb the pretrained weights), then with `schedule = "cosine"` a decay to 0 at the
// last epoch (its small last steps settle the weights where a constant rate ends on
// the noise of its last batches; worth most with few epochs). The head starts at zeros
// (the paper's), or at the linear probe of its layer (`head_init = "probe"`, LP-FT:
// fine-tuning then starts at the probe's accuracy instead of spending its first steps
// on reaching it while the classification gradient disturbs the features; the probe
// reads the run's shared features, so it costs one L-BFGS fit). Optional pad-crop-flip
// augmentation of the images before they are encoded again; early stopping on
// validation accuracy, the best epoch's weights restored before the test score. It
// fine-tunes a copy of the model of its own (EvalInputs::model_copy): the run's shared
// model stays the pretrained one for every other evaluator. With `masks` = K > 1
// (BERT) the best epoch is also scored by the majority vote of K masks.
#include <cmath>

#include <torch/nn/functional/loss.h>
#include <torch/nn/init.h>
#include <torch/nn/modules/linear.h>
#include <workbench/workbench.hpp>

#include "finetune_progress.hpp"
#include "logistic_regression.hpp"
#include "majority_vote.hpp"
#include "probe_grid.hpp"

namespace {

// A module's parameters and buffers, copied (the best epoch's, to restore them).
std::vector<torch::Tensor> snapshot(torch::nn::Module& m) {
  std::vector<torch::Tensor> out;
  for (const auto& p : m.parameters()) out.push_back(p.detach().clone());
  for (const auto& b : m.buffers()) out.push_back(b.detach().clone());
  return out;
}
void restore(torch::nn::Module& m, const std::vector<torch::Tensor>& saved) {
  torch::NoGradGuard no_grad;
  size_t i = 0;
  for (auto& p : m.parameters()) p.copy_(saved[i++]);
  for (auto& b : m.buffers()) b.copy_(saved[i++]);
}

class Finetune : public wb::Evaluator {
 public:
  static void declare(wb::Schema& s) {
    s.integer("layer", -1, "layer whose pooled features the head reads (-1 = the last)")
        .at_least(-1);
    s.string("loss", "joint", "joint (L_GEN + L_CLF) or classification (L_CLF only)")
        .one_of({"joint", "classification"});
    s.number("gen_weight", 1.0, "weight of L_GEN in the joint loss").at_least(0);
    s.number("lr", 3e-4, "peak learning rate (paper: often 10x below pretraining)").at_least(0);
    s.string("schedule", "constant",
             "learning rate over the steps: constant, or cosine decay to 0 at the last epoch")
        .one_of({"constant", "cosine"});
    s.integer("warmup_steps", 0, "steps of linear warm-up to `lr` (0 = none)").at_least(0);
    s.string("head_init", "zeros",
             "the head's start: zeros, or the linear probe fitted on its layer (LP-FT)")
        .one_of({"zeros", "probe"});
    s.number("head_l2", 1e-4, "head_init = probe: the probe's L2 strength").at_least(0);
    s.integer("epochs", 5, "passes over the training split at most").at_least(1);
    s.integer("batch_size", 32, "images per step").at_least(1);
    s.integer("patience", 2, "stop after this many epochs without a better val accuracy; 0 = off")
        .at_least(0);
    s.integer("masks", 1,
              "BERT: also score the best epoch by the majority vote of this many masks per "
              "input (the mask ensemble); 1 = off")
        .range(1, 100);
    s.integer("augment_pad", 0,
              "pad-crop-flip augmentation with this padding in pixels (paper, CIFAR: 4); 0 = off")
        .at_least(0);
  }

  explicit Finetune(wb::PluginContext& ctx) : ctx_(ctx) {}

  void evaluate(const wb::EvalInputs& in) override {
    const auto& c = ctx_.config();
    if (!in.model_copy)
      throw wb::Error("finetune: the host gives no copy of the model to fine-tune");
    const auto own = in.model_copy();
    auto& model = *own;
    const int64_t layer = c.get_int("layer") < 0 ? model.num_layers() : c.get_int("layer");
    if (layer > model.num_layers())
      throw wb::Error(
          fmt::format("finetune: layer {} does not exist (0..{})", layer, model.num_layers()));
    const bool joint = c.get_string("loss") == "joint";
    const int64_t masks = c.get_int("masks");
    if (masks > 1) {
      auto check_gen = ctx_.generator("refusal_check");
      probe::require_masking_objective(*in.objective, check_gen, "finetune (masks > 1)");
    }
    const double gen_weight = c.get_float("gen_weight");
    const int64_t b = c.get_int("batch_size"), pad = c.get_int("augment_pad");
    const auto& train = in.splits.at("train");
    wb::ImageSplit train_images;
    if (pad > 0) {
      if (!in.images || !in.quantizer)
        throw wb::Error("finetune: augment_pad needs the run's images and palette");
      train_images = in.images("train");
    }

    torch::nn::Linear head(model.width(), in.num_classes);
    torch::nn::init::zeros_(head->weight);
    torch::nn::init::zeros_(head->bias);
    head->to(ctx_.device());
    std::vector<torch::Tensor> params = model.module().parameters();
    for (const auto& p : head->parameters()) params.push_back(p);
    const int64_t epochs = c.get_int("epochs");
    const int64_t steps_per_epoch = (train.tokens.size(0) + b - 1) / b;
    wb::OptimiserSpec spec;
    spec.lr = c.get_float("lr");
    spec.total_steps = epochs * steps_per_epoch;
    spec.warmup_steps = c.get_int("warmup_steps");
    spec.cosine = c.get_string("schedule") == "cosine";
    // The host's step: Adam with the paper's betas, the schedule, the run's precision,
    // and this evaluation's saved progress.
    auto optimiser = in.make_optimiser(params, spec);

    auto gen = ctx_.generator("batches");
    finetune::Progress p;
    wb::TrainingState saved;
    if (optimiser->resume(&saved)) {  // weights, head and Adam restored by the host
      p = finetune::Progress::from_state(saved);
      gen.set_state(p.gen);
      replay_curve(p.curve);
      ctx_.info("resuming at epoch {}, step {} (saved progress of this evaluation)", p.epoch,
                optimiser->steps_done());
    } else if (c.get_string("head_init") == "probe") {
      if (!init_from_probe(in, *head, layer)) return;
      // Epoch 0, the start to beat: the probe's head on the pretrained model, scored as
      // every epoch is (through the model, in eval mode). Kept if no epoch beats it.
      p.best_val = accuracy(in, model, *head, layer, "val");
      p.best_model = snapshot(model.module());
      p.best_head = snapshot(*head);
      p.curve.push_back({0, NAN, p.best_val, NAN});
      ctx_.results().metric(0, "val_accuracy", p.best_val);
      ctx_.info("epoch 0 (the probe's head): val accuracy {:.2f}%", 100 * p.best_val);
    }
    auto progress = ctx_.progress("finetune", spec.total_steps);
    progress->advance(optimiser->steps_done(), "");
    for (; p.epoch <= epochs; ++p.epoch) {
      // This epoch's tokens (the cached ones, or the augmented images encoded anew) and
      // order, drawn from the generator's state at the epoch's start: a resumed epoch
      // draws them again, then its masks go on from where they were.
      const torch::Tensor masks_state = gen.get_state();
      if (p.next_row == 0) p.epoch_gen = masks_state;
      gen.set_state(p.epoch_gen);
      torch::Tensor tokens = train.tokens;
      if (pad > 0) tokens = in.quantizer->encode(wb::pad_crop_flip(train_images.images, pad, gen));
      auto order = torch::randperm(tokens.size(0), gen, torch::kLong);
      if (p.next_row > 0) gen.set_state(masks_state);
      model.module().train();
      for (int64_t i = p.next_row; i < tokens.size(0); i += b) {
        auto idx = order.slice(0, i, std::min(tokens.size(0), i + b));
        auto x = tokens.index_select(0, idx).to(ctx_.device());
        auto y = train.labels.index_select(0, idx).to(ctx_.device());
        auto batch = in.objective->prepare(x, gen);
        const double batch_loss = optimiser->step([&] {
          auto out = model.forward(batch.input, wb::FeatureRequest{true});
          auto loss =
              torch::nn::functional::cross_entropy(logits_of(*head, out.features[layer]), y);
          if (joint) loss = loss + gen_weight * in.objective->loss(batch, out).loss;
          return loss;
        });
        p.loss_sum += batch_loss * double(x.size(0));
        progress->advance(1, fmt::format("epoch {} loss {:.4f}", p.epoch, batch_loss));
        if (ctx_.stop_requested()) {  // the host records the run as interrupted
          p.next_row = i + b;
          p.gen = gen.get_state();
          optimiser->save(p.to_state());
          return;
        }
      }
      ++p.epochs_run;
      const double train_loss = p.loss_sum / double(tokens.size(0));
      const double val = accuracy(in, model, *head, layer, "val");
      p.curve.push_back({double(p.epoch), train_loss, val, optimiser->lr()});
      replay_curve({p.curve.back()});
      ctx_.info("epoch {}: train loss {:.4f}, val accuracy {:.2f}%", p.epoch, train_loss,
                100 * val);
      p.next_row = 0;
      p.loss_sum = 0;
      bool stop = false;
      if (val > p.best_val) {
        p.best_val = val;
        p.since_best = 0;
        p.best_model = snapshot(model.module());
        p.best_head = snapshot(*head);
      } else if (c.get_int("patience") > 0 && ++p.since_best >= c.get_int("patience")) {
        ctx_.info("early stop: no better val accuracy in {} epochs", p.since_best);
        stop = true;
      }
      // The epoch's end, saved: a run killed later resumes at the next epoch.
      p.gen = gen.get_state();
      finetune::Progress next = p;
      next.epoch = stop ? epochs + 1 : p.epoch + 1;
      optimiser->save(next.to_state());
      if (stop) break;
    }
    progress->finish();
    restore(model.module(), p.best_model);
    restore(*head, p.best_head);
    const double test = accuracy(in, model, *head, layer, "test");
    ctx_.results().result("accuracy", layer, "val", p.best_val);
    ctx_.results().result("accuracy", layer, "test", test);
    if (masks > 1) {
      auto vote_gen = ctx_.generator("ties");
      for (const std::string split : {"val", "test"}) {
        std::vector<torch::Tensor> preds;
        auto mask_gen = ctx_.generator("ensemble_masks_" + split);
        for (int64_t m = 0; m < masks; ++m)
          preds.push_back(predict(in, model, *head, layer, split, mask_gen));
        auto vote = probe::majority_vote(torch::stack(preds), in.num_classes, vote_gen);
        const double ensemble =
            vote.eq(in.splits.at(split).labels).to(torch::kDouble).mean().item<double>();
        ctx_.results().result("accuracy_ensemble", layer, split, ensemble);
        ctx_.info("{}: {:.2f}% with the vote of {} masks", split, 100 * ensemble, masks);
      }
    }
    ctx_.results().result("epochs", layer, "train", static_cast<double>(p.epochs_run));
    ctx_.info("fine-tuned ({} loss, head on layer {}): val {:.2f}%, test {:.2f}%",
              joint ? "joint" : "classification", layer, 100 * p.best_val, 100 * test);
  }

 private:
  // The curve's rows (epoch, train loss, val accuracy, lr; NaN = none) as metrics.
  void replay_curve(const std::vector<std::vector<double>>& rows) {
    for (const auto& r : rows) {
      const auto epoch = static_cast<int64_t>(r[0]);
      if (!std::isnan(r[1])) ctx_.results().metric(epoch, "train_loss", r[1]);
      ctx_.results().metric(epoch, "val_accuracy", r[2]);
      if (!std::isnan(r[3])) ctx_.results().metric(epoch, "lr", r[3]);  // the epoch's last step's
    }
  }

  // Sets the head to the linear probe of `layer` fitted on the training split's shared
  // features, its standardisation folded into the weights: x W' + b' = ((x - mean) /
  // std) W + b. False when the user asked the run to stop.
  bool init_from_probe(const wb::EvalInputs& in, torch::nn::LinearImpl& head, int64_t layer) {
    const auto& c = ctx_.config();
    auto features = in.feature_service().pooled(1, c.get_int("batch_size"));
    if (features.empty()) return false;
    auto fit = probe::fit_logistic(features.at("train")[layer], in.splits.at("train").labels,
                                   in.num_classes, c.get_float("head_l2"), probe::kMaxIter,
                                   probe::kTolerance);
    const double val = probe::accuracy(fit, features.at("val")[layer], in.splits.at("val").labels);
    torch::NoGradGuard no_grad;
    auto w = fit.weight / fit.std.unsqueeze(1);  // (d, classes)
    head.weight.copy_(w.t());
    head.bias.copy_(fit.bias - fit.mean.matmul(w));
    ctx_.info("head from the probe of layer {}: val {:.2f}%", layer, 100 * val);
    return true;
  }

  // The head's logits (B, classes), float32, from pooled features (B, width), with
  // autocast off whatever the model ran in (the optimiser's step runs the whole loss
  // under the run's precision): a head started from the probe carries the
  // standardisation folded in, large weights and a bias that cancels much of x W, the
  // case bfloat16's 8 significant bits handle worst. A margin, not a measured fix: on
  // beat_pixels' checkpoint the probe's head scored 85.55 % val either way.
  static torch::Tensor logits_of(torch::nn::LinearImpl& head, const torch::Tensor& features) {
    wb::Float32Scope float32(features.device());
    return head.forward(features.to(torch::kFloat32));
  }

  // Predicted classes, int64 (N), of model + head on a split, in eval mode, one pass,
  // masks (BERT) drawn from `gen`.
  torch::Tensor predict(const wb::EvalInputs& in, wb::Model& model, torch::nn::LinearImpl& head,
                        int64_t layer, const std::string& split, torch::Generator& gen) {
    torch::NoGradGuard no_grad;
    model.module().eval();
    const auto& s = in.splits.at(split);
    const int64_t b = ctx_.config().get_int("batch_size");
    std::vector<torch::Tensor> parts;
    for (int64_t i = 0; i < s.tokens.size(0); i += b) {
      auto x = s.tokens.slice(0, i, std::min(s.tokens.size(0), i + b)).to(ctx_.device());
      auto view = in.objective->prepare(x, gen).input;
      torch::Tensor features;
      {
        wb::BfloatAutocast autocast(ctx_.device(), in.bfloat16);
        features = model.forward(view, wb::FeatureRequest{true}).features[layer];
      }
      parts.push_back(logits_of(head, features).argmax(-1).cpu());
    }
    return parts.empty() ? torch::zeros({0}, torch::kLong) : torch::cat(parts);
  }

  // Accuracy on a split; masks from a fixed stream, so every evaluation sees the same.
  double accuracy(const wb::EvalInputs& in, wb::Model& model, torch::nn::LinearImpl& head,
                  int64_t layer, const std::string& split) {
    auto gen = ctx_.generator("eval_masks");
    const auto& labels = in.splits.at(split).labels;
    if (labels.size(0) == 0) return 0.0;
    return predict(in, model, head, layer, split, gen)
        .eq(labels)
        .to(torch::kDouble)
        .mean()
        .item<double>();
  }

  wb::PluginContext& ctx_;
};

}  // namespace

WB_PLUGIN(Evaluator, "finetune", "1.0.0",
          "fine-tune the whole model with a linear head (joint or classification loss)", Finetune)
