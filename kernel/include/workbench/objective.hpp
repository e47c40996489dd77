#pragma once
#include <map>
#include <string>

#include <torch/types.h>

#include <workbench/model.hpp>
#include <workbench/plugin.hpp>

namespace wb {

// One batch as an objective prepares it: what the model sees, and what its loss
// scores. Everything loss() needs is here, so an objective keeps no state between
// prepare() and loss().
struct TrainingBatch {
  ForwardInput input;     // the model's view (tokens possibly masked or corrupted)
  torch::Tensor targets;  // int64 (N, S): the token position s's logits should give
  // float32 (N, S): each position's share of the loss, 0 where not scored. For the
  // helper below the shares of a batch sum to 1 (a mean over what is scored).
  torch::Tensor weights;
};

struct LossOutput {
  torch::Tensor loss;  // scalar, to minimise (the host backpropagates it)
  // Figures to log, each a scalar tensor, detached (e.g. "bits_per_token", or an
  // objective's own "denoise_accuracy"). The host averages them over a log interval
  // on the device and reads them once per interval, so returning them costs no
  // synchronisation. Training logs them as "train/<name>", validation as
  // "train/val_<name>". "bits_per_token" also gives "bits_per_dim" (over the
  // channels of a pixel), the figure the paper reports.
  std::map<std::string, torch::Tensor> metrics;
};

// A pretraining objective: it decides what the model sees (attention, masks,
// corruption), the targets, and which positions the loss covers.
//
// What the host calls when:
//  - training step: for each micro-batch, prepare(tokens, gen) with the run's
//    objective generator (checkpointed, so a resumed run draws the same masks), then
//    the model's forward on batch.input under the run's precision, then loss();
//  - validation: the same on fixed validation batches, with a generator seeded the
//    same at every validation, under no_grad;
//  - feature passes of evaluators (linear probe, mask ensemble, fine-tuning):
//    prepare() with the evaluator's generator, then only batch.input is used: the
//    features are the model's view of the input as the objective presents it (BERT's
//    masks, a denoising objective's corruption);
//  - fine-tuning with a generative term: prepare() and loss() as in training.
// The calls may come from any thread, one batch at a time; `gen` is the only source
// of randomness to use (never a generator of your own: it would not be checkpointed).
class WB_API Objective : public Plugin {
 public:
  ~Objective() override;
  // tokens int64 (N, S), on the run's device -> the batch to train on.
  virtual TrainingBatch prepare(const torch::Tensor& tokens, torch::Generator& gen) const = 0;
  // A pure function of the batch and the model's output on batch.input.
  virtual LossOutput loss(const TrainingBatch& batch, const ForwardOutput& output) const = 0;
};

// sum over (n, s) of weights * cross-entropy(logits, targets), in float32 whatever the
// logits' precision: the loss of most objectives. Scalar.
WB_API torch::Tensor weighted_cross_entropy(const TrainingBatch& batch,
                                            const ForwardOutput& output);

template <>
constexpr const char* kind_name<Objective>() {
  return "objective";
}

}  // namespace wb
