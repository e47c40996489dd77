#include "run/evaluations.hpp"

#include <chrono>

#include <fmt/format.h>
#include <workbench/workbench.hpp>

#include "distributed/run_workers.hpp"
#include "platform/hash.hpp"
#include "platform/interrupt.hpp"
#include "platform/log.hpp"
#include "platform/progress.hpp"
#include "plugins/plugin_guard.hpp"
#include "run/evaluator_state.hpp"
#include "run/feature_cache.hpp"
#include "run/tokens.hpp"
#include "training/trainer.hpp"

namespace wb {

namespace {

// An evaluation this store already holds, made by an earlier run (any experiment's)
// from the same checkpoint with the same config and code: copied onto `run_id`, its
// metrics renamed to start with `metrics`. False (compute it) when there is none, or
// with --force.
bool reuse_evaluation(RunRecord& record, int64_t run_id, const std::string& what,
                      const std::string& hash, const std::string& metrics, const RunOptions& opt) {
  if (opt.force) return false;
  const auto done = record.find_evaluation(hash);
  if (!done) return false;
  record.copy_evaluation(run_id, *done, metrics);
  log_message(LogLevel::Info,
              fmt::format("{}: reusing run {}'s results ({}, computed in {}; --force computes "
                          "them again)",
                          what, done->run, hash, format_duration(done->seconds)));
  return true;
}

}  // namespace

void validate_checkpoint(RunAssembly& run, RunRecord& record, int64_t run_id,
                         const RunOptions& opt) {
  const std::string hash = short_hash("validation\n" + run.checkpoint_key());
  const std::string metrics = "train/final_val_";  // record_validation's names
  if (reuse_evaluation(record, run_id, "validation", hash, metrics, opt)) return;
  const auto t0 = std::chrono::steady_clock::now();
  const RunConfig& rc = run.config();
  const auto& training = rc.at("training");
  Validation v = validate(run.model(), run.objective(), run.tokens().splits["val"].tokens,
                          training.get_int("batch_size"), /*max_batches=*/0, run.seed(),
                          run.device(), run.bfloat16());
  auto train_sink = record.results(run_id, "train", run.checkpoint_key());
  record_validation(*train_sink, training.get_int("steps"), "final_val_", v, run.facts().channels);
  log_message(LogLevel::Info,
              fmt::format("pretrain: validation loss {:.4f} on all {} images", v.loss, v.images));
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  record.evaluation({run_id, "validation", hash, metrics, secs, run_id});
}

void evaluate(RunAssembly& run, RunRecord& record, int64_t run_id, const PluginRegistry& reg,
              const RunOptions& opt) {
  const RunConfig& rc = run.config();
  TokenData& td = run.tokens();
  EvalInputs inputs;
  inputs.model = &run.model();
  inputs.model_copy = [&run] { return run.model_copy(); };
  inputs.objective = &run.objective();
  inputs.splits = td.splits;
  inputs.num_classes = td.num_classes;
  inputs.checkpoint_key = run.checkpoint_key();  // cache_key: per evaluator, below
  inputs.bfloat16 = run.bfloat16();
  inputs.quantizer = &run.quantizer();
  // Images on demand, from one dataset object made on first use.
  std::shared_ptr<Dataset> dataset;
  inputs.images = [&](const std::string& split) {
    if (!dataset)
      dataset = reg.create<Dataset>(rc.at("dataset").get_string("plugin"), run.dataset_context());
    return load_images(rc, *dataset, split);
  };
  // One feature service for all the evaluators: each key's pass is made once, by
  // whichever evaluator asks first.
  FeatureCache features(
      run.model(), run.objective(), inputs.splits, inputs.checkpoint_key, run.device(),
      inputs.bfloat16, run.artifacts(),
      [&](const std::string& key) { forget(opt, run.artifacts(), "features", key); });
  inputs.features = &features;
  run.model().module().eval();
  // Data-parallel: the other workers on this machine sit idle while rank 0 evaluates;
  // it takes their cores.
  if (RunWorkers(opt.cluster).several()) set_threads(rc.at("experiment").get_int("threads"));
  std::map<std::string, int> seen;  // evaluators of each plugin so far
  for (const auto& section : rc.evaluators) {
    const std::string name = section.get_string("plugin");
    // The evaluator's code is in its keys too: a rebuilt evaluator evaluates again, and
    // never reuses what its old code computed (the features are the host's: shared).
    const std::string& code = reg.get("evaluator", name).sha256;
    const std::string hash =
        short_hash(canonical_section("[evaluator]", section) + inputs.checkpoint_key + code);
    const int nth = ++seen[name];
    const std::string label = nth == 1 ? name : fmt::format("{}#{}", name, nth);
    // Made before by a run of the same checkpoint with this evaluator's config and code:
    // its rows are copied, nothing is computed.
    if (reuse_evaluation(record, run_id, "evaluator " + label, hash, label + "/", opt)) continue;
    auto host = run.services(section, hash, label);
    inputs.cache_key = short_hash(inputs.checkpoint_key + "\n" + code);
    // An evaluator that trains saves its progress under the evaluation's hash: kept
    // when the run is stopped (the next run of it resumes), deleted once it finishes.
    EvaluatorState state(run.artifacts(), hash, run.device(), inputs.bfloat16);
    if (opt.force) state.discard("--force: starting the evaluation over");
    inputs.optimiser = state.factory();
    auto evaluator = reg.create<Evaluator>(name, host->context);
    auto t0 = std::chrono::steady_clock::now();
    guarded(fmt::format("evaluator '{}'", name), "evaluate()",
            [&] { evaluator->evaluate(inputs); });
    if (interrupted())
      throw Interrupted(fmt::format("interrupted during evaluator {}{}", name,
                                    state.saved() ? " (its saved progress is kept)" : ""));
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    record.evaluation({run_id, name, hash, label + "/", secs, run_id});
    state.discard("the evaluation finished: its saved progress deleted");
    log_message(LogLevel::Info,
                fmt::format("evaluator {} done in {}", name, format_duration(secs)));
  }
}

}  // namespace wb
