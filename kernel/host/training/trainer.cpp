#include "training/trainer.hpp"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <future>

#include <fmt/format.h>
#include <torch/serialize.h>

#include <workbench/atomic_file.hpp>
#include <workbench/checked_file.hpp>
#include <workbench/error.hpp>
#include <workbench/precision.hpp>

#include "distributed/data_parallel.hpp"
#include "platform/interrupt.hpp"
#include "platform/log.hpp"
#include "platform/progress.hpp"
#include "plugins/plugin_guard.hpp"
#include "training/metric_means.hpp"

namespace wb {

namespace fs = std::filesystem;

namespace {
// An objective's metrics at step `at`, each named after `prefix`, and bits per dimension
// (bits per token over the dimensions one token stands for) where there are bits per
// token: the training log and the validations alike.
void record_metrics(ResultSink& sink, int64_t at, const std::string& prefix,
                    const std::map<std::string, double>& metrics, int64_t dims_per_token) {
  for (const auto& [name, value] : metrics) sink.metric(at, prefix + name, value);
  if (metrics.count("bits_per_token"))
    sink.metric(at, prefix + "bits_per_dim", metrics.at("bits_per_token") / double(dims_per_token));
}

// A worker other than rank 0 draws nothing: rank 0's bar speaks for the run.
struct SilentProgress : Progress {
  void advance(int64_t, const std::string&) override {}
  void finish(const std::string&) override {}
};

// The training figures since the last log line: the loss and the objective's metrics
// averaged over the interval's steps, and the token rate since training began.
struct TrainingLog {
  MetricMeans metrics;
  double loss_sum = 0;
  int64_t steps = 0, tokens = 0;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();

  void add(const Trainer::StepResult& r, int64_t step_tokens) {
    metrics.add(r.metrics);
    loss_sum += r.loss;
    ++steps;
    tokens += step_tokens;
  }
  // Every worker reads (data-parallel: the workers' mean); the leader writes.
  void write(ResultSink& sink, int64_t done, double lr, int64_t dims_per_token,
             Parallelism& parallel) {
    auto means = metrics.read();
    parallel.average(means);
    if (parallel.leader()) {
      const double secs =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      sink.metric(done, "loss", loss_sum / double(steps));
      record_metrics(sink, done, "", means, dims_per_token);
      sink.metric(done, "lr", lr);
      if (secs > 0) sink.metric(done, "tokens_per_s", double(tokens) / secs);
    }
    loss_sum = 0;
    steps = 0;
  }
};
}  // namespace

void save_weights(torch::nn::Module& module, const std::string& path) {
  torch::serialize::OutputArchive ar;
  module.save(ar);
  write_checked(path, [&](const std::string& tmp) { save_archive(ar, tmp); });
}

void load_weights(torch::nn::Module& module, const std::string& path, torch::Device device) {
  const std::string problem = checked_problem(path);
  if (!problem.empty()) throw Error(fmt::format("{}: {}", path, problem));
  read_weights(module, path, device);
}

void read_weights(torch::nn::Module& module, const std::string& path, torch::Device device) {
  try {
    torch::serialize::InputArchive ar;
    ar.load_from(path, device);
    module.load(ar);
  } catch (...) {
    throw Error(fmt::format("{}: cannot read the weights: {}", path, current_exception_message()));
  }
}

bool drop_unusable_checkpoint(const std::string& path) {
  bool dropped = false;
  reuse_checked(path, [&](const std::string& why) {
    dropped = true;
    log_message(LogLevel::Warn, why + ": the pretraining starts again from step 0");
  });
  return dropped;
}

Trainer::Trainer(const Section& training, Model& model, const Objective& objective,
                 ResultSink& sink, TrainingPlace place)
    : cfg_(training),
      model_(model),
      objective_(objective),
      device_(place.device),
      bfloat16_(uses_bfloat16(training.get_string("precision"), place.device)),
      seed_(place.seed),
      dir_(std::move(place.dir)),
      sink_(sink),
      dims_per_token_(std::max<int64_t>(1, place.dims_per_token)),
      parallel_(make_parallelism(place.cluster, model.module(), training.get_int("batch_size"))),
      objective_gen_(torch::make_generator<at::CPUGeneratorImpl>(
          derive_seed(place.seed, "trainer", "objective"))),
      adam_(model.module().parameters(), training.get_float("grad_clip")),
      graph_wanted_(training.get_bool("cuda_graph") && device_.is_cuda() &&
                    training.get_int("accumulate") == 1 && parallel_->workers() == 1) {}

// The sample order is a function of the step alone: epoch e is a permutation seeded by
// (seed, e), so a resumed run sees exactly the batches an uninterrupted one would.
torch::Tensor Trainer::batch_indices(int64_t step, int64_t n) {
  const int64_t b = cfg_.get_int("batch_size");
  std::vector<int64_t> idx(b);
  for (int64_t i = 0; i < b; ++i) {
    int64_t g = step * b + i;
    int64_t epoch = g / n;
    if (epoch != perm_epoch_) {
      auto gen = torch::make_generator<at::CPUGeneratorImpl>(
          derive_seed(seed_, "trainer", fmt::format("epoch{}", epoch)));
      perm_ = torch::randperm(n, gen, torch::kLong);
      perm_epoch_ = epoch;
    }
    idx[i] = perm_[g % n].item<int64_t>();
  }
  return torch::tensor(idx, torch::kLong);
}

int64_t Trainer::warmup_steps(int64_t train_size) const {
  const double epochs = cfg_.get_float("warmup_epochs");
  if (epochs <= 0) return cfg_.get_int("warmup_steps");
  const double steps_per_epoch = double(train_size) / double(cfg_.get_int("batch_size"));
  return static_cast<int64_t>(std::ceil(epochs * steps_per_epoch));
}

Validation validate(Model& model, const Objective& objective, const torch::Tensor& val,
                    int64_t batch_size, int64_t max_batches, uint64_t seed, torch::Device device,
                    bool bfloat16) {
  torch::NoGradGuard no_grad;
  model.module().eval();
  const int64_t all = (val.size(0) + batch_size - 1) / batch_size;
  const int64_t batches = max_batches > 0 ? std::min(max_batches, all) : all;
  // The same masks at every validation, so the curve compares like with like.
  auto gen =
      torch::make_generator<at::CPUGeneratorImpl>(derive_seed(seed, "trainer", "validation"));
  MetricMeans means;
  Validation v;
  for (int64_t i = 0; i < batches; ++i) {
    auto x = val.slice(0, i * batch_size, std::min(val.size(0), (i + 1) * batch_size)).to(device);
    auto batch = objective.prepare(x, gen);
    BfloatAutocast autocast(device, bfloat16);
    auto out = objective.loss(batch, model.forward(batch.input));
    // Each batch weighted by its images: the mean over every image covered.
    auto metrics = out.metrics;
    metrics["loss"] = out.loss.detach();
    means.add(metrics, double(x.size(0)));
    v.images += x.size(0);
  }
  model.module().train();
  v.metrics = means.read();
  if (v.metrics.count("loss")) {
    v.loss = v.metrics.at("loss");
    v.metrics.erase("loss");
  }
  return v;
}

Validation Trainer::validate(const torch::Tensor& val) {
  return wb::validate(model_, objective_, val, cfg_.get_int("batch_size"),
                      cfg_.get_int("val_batches"), seed_, device_, bfloat16_);
}

void record_validation(ResultSink& sink, int64_t at, const std::string& prefix, const Validation& v,
                       int64_t dims_per_token) {
  sink.metric(at, prefix + "loss", v.loss);
  record_metrics(sink, at, prefix, v.metrics, dims_per_token);
  sink.metric(at, prefix + "images", double(v.images));
}

void Trainer::save(const std::string& path, int64_t step, const Progress& p) {
  torch::serialize::OutputArchive ar, model_ar, opt_ar;
  model_.module().save(model_ar);
  adam_.save(opt_ar);
  ar.write("model", model_ar);
  ar.write("optimizer", opt_ar);
  ar.write("step", torch::tensor(step, torch::kLong));
  ar.write("best_val", torch::tensor(p.best_val, torch::kDouble));
  ar.write("since_best", torch::tensor(p.since_best, torch::kLong));
  ar.write("objective_rng", objective_gen_.get_state());
  // Written beside, then renamed: a run killed mid-write never leaves a torn file; its
  // checksum record beside it tells a file damaged later (resume checks it).
  write_checked(path, [&](const std::string& tmp) { save_archive(ar, tmp); });
}

void Trainer::save_best() {
  save_weights(model_.module(), (fs::path(dir_) / "best.pt").string());
}

void Trainer::restore_best() {
  const std::string path = (fs::path(dir_) / "best.pt").string();
  if (!fs::exists(path)) throw Error(fmt::format("{}: no best checkpoint to restore", path));
  load_weights(model_.module(), path, device_);
}

int64_t Trainer::resume(const std::string& path, Progress* p) {
  torch::serialize::InputArchive ar, model_ar, opt_ar;
  torch::Tensor step, best, since, rng;
  try {
    ar.load_from(path, device_);
    ar.read("model", model_ar);
    ar.read("optimizer", opt_ar);
    model_.module().load(model_ar);
    adam_.load(opt_ar);
    ar.read("step", step);
    ar.read("best_val", best);
    ar.read("since_best", since);
    ar.read("objective_rng", rng);
    objective_gen_.set_state(rng.cpu());
  } catch (...) {
    throw Error(fmt::format("{}: cannot read checkpoint ({}); delete it to start over", path,
                            current_exception_message()));
  }
  p->best_val = best.item<double>();
  p->since_best = since.item<int64_t>();
  return step.item<int64_t>();
}

Trainer::StepResult Trainer::train_step(const torch::Tensor& batch, double lr, int64_t step) {
  return graph_wanted_ ? graphed_step(batch, lr, step) : eager_step(batch, lr, step);
}

Trainer::StepResult Trainer::eager_step(const torch::Tensor& batch, double lr, int64_t step) {
  const int64_t b = batch.size(0);
  const int64_t accumulate = std::min(cfg_.get_int("accumulate"), b);
  adam_.begin(lr);
  StepResult r;
  torch::Generator gen = parallel_->step_generator(objective_gen_, seed_, step);
  const auto chunks = batch.chunk(accumulate);
  torch::Tensor loss_sum = torch::zeros({}, torch::TensorOptions(device_).dtype(torch::kFloat64));
  for (size_t c = 0; c < chunks.size(); ++c) {
    const auto& chunk = chunks[c];
    // Data-parallel: the last micro-batch's backward carries the averaged gradients.
    if (c + 1 == chunks.size()) parallel_->before_last_backward();
    auto x = chunk.to(device_, /*non_blocking=*/true);
    auto prepared = objective_.prepare(x, gen);
    LossOutput out;
    {
      BfloatAutocast autocast(device_, bfloat16_);  // the forward; backward follows it
      out = objective_.loss(prepared, model_.forward(prepared.input));
    }
    // Each micro-batch's mean weighted by its share of the batch: the gradient of the
    // whole batch's mean.
    const double share = double(chunk.size(0)) / double(b);
    (out.loss * share).backward();
    loss_sum = loss_sum + out.loss.detach().to(torch::kFloat64) * share;
    for (const auto& [name, value] : out.metrics) {
      auto v = value.detach().to(torch::kFloat64) * share;
      auto& m = r.metrics[name];
      m = m.defined() ? m + v : v;
    }
  }
  r.loss = loss_sum.item<double>();  // the step's one read: a non-finite loss skips it
  parallel_->after_backward();
  // The loss is the global batch's, and an interrupt on any worker stops all at the same
  // step.
  r.interrupted = parallel_->agree_on_step(&r.loss, interrupted());
  if (std::isfinite(r.loss)) adam_.update();
  return r;
}

double Trainer::run(const torch::Tensor& train, const torch::Tensor& val) {
  const int64_t steps = cfg_.get_int("steps");
  const double peak = cfg_.get_float("lr");
  const int64_t warmup = warmup_steps(train.size(0));
  const std::string last = (fs::path(dir_) / "last.pt").string();

  model_.module().train();
  int64_t step = 0;
  Progress prog;
  const int64_t patience = cfg_.get_int("early_stop_patience");
  const bool leader = parallel_->leader();
  // Resumed only when it matches its checksum record (the runner drops one that does
  // not before it links the earlier attempts); every worker reads the same file, so
  // all take the same branch, and rank 0 alone removes one.
  // Rank 0's check removes an unusable file (so it need not check again); the others
  // check for themselves.
  const bool usable = leader ? !drop_unusable_checkpoint(last) : checked_problem(last).empty();
  if (usable && fs::exists(last)) {
    step = resume(last, &prog);
    log_message(LogLevel::Info, fmt::format("resuming from {} at step {}", last, step));
  }
  parallel_->start(model_.module(), step);
  double val_loss = NAN;
  // A validation's figures after `at` steps, and best.pt when its loss is the lowest
  // yet (the weights training.keep = "best" hands the evaluators). True when it is.
  auto keep_validation = [&](int64_t at, const Validation& v) {
    if (leader) record_validation(sink_, at, "val_", v, dims_per_token_);
    if (!(v.loss < prog.best_val)) return false;
    prog.best_val = v.loss;
    if (leader) save_best();
    return true;
  };
  // Rank 0 speaks for the run: its progress bar, its metrics, its checkpoints.
  std::unique_ptr<wb::Progress> progress =
      leader ? make_progress("pretrain", steps) : std::make_unique<SilentProgress>();
  progress->advance(step, "");
  // The next step's batch is gathered on another thread while this step computes, so
  // the step never waits on data. batch_indices is only ever called from there, one
  // call at a time (each future is collected before the next is started).
  auto gather = [this, &train](int64_t s) {
    const auto rows = parallel_->share(batch_indices(s, train.size(0)));  // this worker's
    auto batch = train.index_select(0, rows);
    return device_.is_cuda() ? batch.pin_memory() : batch;
  };
  TrainingLog log;
  std::future<torch::Tensor> next;
  if (step < steps) next = std::async(std::launch::async, gather, step);
  for (; step < steps; ++step) {
    const double lr =
        learning_rate(peak, step, warmup, steps, cfg_.get_string("schedule") == "cosine");
    const torch::Tensor batch = next.get();  // int64 (B, S)
    if (step + 1 < steps) next = std::async(std::launch::async, gather, step + 1);
    const StepResult r = train_step(batch, lr, step);
    if (!std::isfinite(r.loss))
      throw Error(fmt::format("training diverged at step {}: loss is {} (lower training.lr?)", step,
                              r.loss));
    log.add(r, batch.numel() * parallel_->workers());

    const int64_t done = step + 1;
    if (done % cfg_.get_int("log_every") == 0 || done == steps)
      log.write(sink_, done, lr, dims_per_token_, *parallel_);
    if (done % cfg_.get_int("val_every") == 0 || done == steps) {
      Validation v = validate(val);
      v.loss = parallel_->leaders_value(v.loss);  // rank 0's decides early stopping for all
      val_loss = v.loss;
      if (keep_validation(done, v))
        prog.since_best = 0;
      else
        ++prog.since_best;
    }
    progress->advance(1, std::isnan(val_loss)
                             ? fmt::format("loss {:.4f}", r.loss)
                             : fmt::format("loss {:.4f} val {:.4f}", r.loss, val_loss));
    if (leader && (done % cfg_.get_int("checkpoint_every") == 0 || done == steps))
      save(last, done, prog);
    if (patience > 0 && prog.since_best >= patience) {
      if (leader) {
        save(last, done, prog);
        sink_.metric(done, "early_stopped", 1.0);
      }
      progress->finish(
          fmt::format("early stop: no better validation loss in {} evaluations", patience));
      return val_loss;
    }
    if (parallel_->stop_after_step(r.interrupted)) {
      if (leader) save(last, done, prog);
      progress->finish("interrupted");
      throw Interrupted(fmt::format("interrupted at step {}; checkpoint {}", done, last));
    }
  }
  progress->finish("");
  if (std::isnan(val_loss)) {  // no step ran here: steps = 0 (the random-init control), or
                               // a resumed run that had already finished its steps
    Validation v = validate(val);
    val_loss = v.loss;
    // With steps = 0 the initial weights are the only, so the best, checkpoint (a
    // resumed finished run already has its best.pt, no worse than this).
    keep_validation(step, v);
  }
  return val_loss;
}

}  // namespace wb
