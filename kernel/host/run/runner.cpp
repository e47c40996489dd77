#include "run/runner.hpp"

#include <ATen/Parallel.h>
#include <dlfcn.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/cuda.h>
#include <workbench/workbench.hpp>

#include "distributed/run_workers.hpp"
#include "platform/allocator.hpp"
#include "platform/hash.hpp"
#include "platform/interrupt.hpp"
#include "platform/progress.hpp"
#include "plugins/plugin_guard.hpp"
#include "run/evaluations.hpp"
#include "run/memory_guard.hpp"
#include "run/provenance.hpp"
#include "run/run_assembly.hpp"
#include "run/run_context.hpp"
#include "run/run_record.hpp"
#include "run/tokens.hpp"
#include "training/trainer.hpp"

namespace fs = std::filesystem;

namespace wb {

torch::Device resolve_device(const std::string& name) {
  if (name == "cpu") return torch::kCPU;
  bool cuda = torch::cuda::is_available();
  if (name == "cuda" && !cuda)
    throw Error(
        "experiment.device = \"cuda\" but this LibTorch sees no CUDA device "
        "(use \"auto\" or \"cpu\")");
  return cuda ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
}

int64_t set_threads(int64_t threads, int64_t local_workers) {
  if (threads <= 0)
    threads = std::max<int64_t>(
        1, std::thread::hardware_concurrency() / std::max<int64_t>(1, local_workers));
  // Set always: several local workers share the cores.
  at::set_num_threads(static_cast<int>(threads));
  return threads;
}

void print_runs(const Experiment& exp, std::ostream& out) {
  out << fmt::format("experiment '{}' from {}: {} run(s)\n", exp.name, exp.file, exp.runs.size());
  for (size_t i = 0; i < exp.runs.size(); ++i) {
    const auto& r = exp.runs[i];
    out << fmt::format("\n# run {} of {}: {}  (config {}, pretraining {}, data {})\n", i + 1,
                       exp.runs.size(), r.label, r.hash, r.pretrain_hash, r.data_hash);
    out << r.canonical;
  }
}

void forget(const RunOptions& opt, StoreArtifacts& artifacts, const std::string& kind,
            const std::string& key) {
  if (!opt.recompute || !RunWorkers(opt.cluster).leader()) return;
  const std::string dir = artifacts.dir(kind, key);
  log_message(LogLevel::Info, fmt::format("--recompute: deleting {}", dir));
  fs::remove_all(dir);
}

namespace {

// The pretrained weights of the run's configuration in the run's model: the cached
// final.pt when there is one, else trained now (resuming last.pt). False on a worker
// other than rank 0 once its share is done: rank 0 alone evaluates.
bool pretrain(RunAssembly& run, RunRecord& record, int64_t run_id, const RunOptions& opt) {
  const RunConfig& rc = run.config();
  const RunWorkers workers(opt.cluster);
  const bool leader = workers.leader();
  Model& model = run.model();
  const std::string key = run.checkpoint_key();
  const std::string ckpt_dir = run.artifacts().dir("checkpoints", key);
  const std::string final_path = run.final_checkpoint();
  // Rank 0 holds the checkpoint's lock until final.pt is written: another run that
  // needs this checkpoint waits, then reuses it rather than training it again.
  std::unique_ptr<ArtifactLock> ckpt_lock;
  if (leader) ckpt_lock = run.artifacts().lock("checkpoints", key);
  // Reused only when it matches its checksum record; a damaged one is removed and the
  // pretraining runs again (resuming last.pt when that one is whole).
  const bool reusable = leader && reuse_checked(final_path, [](const std::string& m) {
                          log_message(LogLevel::Warn, "pretrain: " + m);
                        });
  if (workers.agree(reusable)) {
    if (!leader) return false;                               // nothing to train; rank 0 evaluates
    read_weights(model.module(), final_path, run.device());  // checked just above
    log_message(LogLevel::Info, fmt::format("pretrain: reusing checkpoint {}", final_path));
  } else {
    // Resuming an earlier attempt's checkpoint: its curve and provenance join this run
    // (not when the checkpoint is unusable: then the pretraining starts over).
    const std::string last = (fs::path(ckpt_dir) / "last.pt").string();
    if (leader && !drop_unusable_checkpoint(last) && fs::exists(last)) {
      const auto attempts = record.continue_attempts(run_id, rc.pretrain_hash);
      if (!attempts.empty())
        log_message(LogLevel::Info,
                    fmt::format("pretrain: continuing run(s) {} (their curve is on this run)",
                                fmt::join(attempts, ", ")));
    }
    // A setting far beyond this machine is refused before it swaps for an hour. The
    // blocks an earlier run left for reuse go back first: MemAvailable counts them.
    release_cached_memory();
    if (rc.at("experiment").get_bool("memory_check"))
      check_training_memory(rc.at("training"), model, run.facts(), run.device(), workers.count(),
                            opt.local_workers);
    auto train_sink = record.results(run_id, "train", key);
    // Bits per dimension: a token stands for one pixel of `channels` values.
    Trainer trainer(rc.at("training"), model, run.objective(), *train_sink,
                    {run.device(), run.seed(), ckpt_dir, run.facts().channels, workers.cluster()});
    // Pretraining sees the unlabeled split too when there is one (stl10); the
    // evaluators see only the labelled splits.
    TokenData& td = run.tokens();
    if (td.splits["val"].tokens.size(0) == 0)
      throw Error("the validation split is empty; raise dataset.val_fraction");
    auto tokens = td.splits["train"].tokens;
    if (td.unlabeled.defined()) tokens = torch::cat({tokens, td.unlabeled});
    trainer.run(tokens, td.splits["val"].tokens);
    if (!leader) return false;  // rank 0 keeps the checkpoint and evaluates
    if (rc.at("training").get_string("keep") == "best") {
      trainer.restore_best();
      log_message(LogLevel::Info, "pretrain: keeping the best checkpoint (training.keep)");
    }
    save_weights(model.module(), final_path);
  }
  ckpt_lock.reset();
  run.artifacts().record("checkpoint", key, final_path);
  return true;
}

// One run: its tokens, its pretrained checkpoint, the checkpoint's validation, its
// evaluators.
void execute(const RunConfig& rc, RunRecord& record, int64_t run_id, const PluginRegistry& reg,
             const RunOptions& opt, torch::Device device) {
  StoreArtifacts artifacts(opt.artifacts_root, record.store(), run_id);
  RunAssembly run(rc, reg, device, artifacts, record.store(), run_id);
  forget(opt, artifacts, "tokens", rc.data_hash);
  // Data-parallel: rank 0 builds (or finds) the token cache first; the others then read
  // it rather than racing to write it. The checkpoint's key follows from the tokens.
  RunWorkers(opt.cluster).leader_first("tokens/" + rc.hash, [&] {
    run.tokens();
    forget(opt, artifacts, "checkpoints", run.checkpoint_key());
  });
  if (interrupted()) throw Interrupted("interrupted after making the tokens");

  Model& model = run.model();
  run.objective();
  int64_t params = 0;
  for (const auto& p : model.module().parameters()) params += p.numel();
  log_message(LogLevel::Info, fmt::format("model: {} layers, width {}, {} parameters",
                                          model.num_layers(), model.width(), params));
  record.metric(run_id, 0, "model/parameters", static_cast<double>(params));
  if (!pretrain(run, record, run_id, opt)) return;
  validate_checkpoint(run, record, run_id, opt);
  evaluate(run, record, run_id, reg, opt);
}

// Why a finished run's results are not those of the data as they are now, or "": a
// file its tokens were made from changed since, or the token cache was made again
// (by another run) into other tokens than the ones it recorded.
std::string data_changed_since(RunRecord& record, int64_t run, const RunConfig& rc,
                               const std::string& artifacts_root) {
  const StoreArtifacts artifacts(artifacts_root, nullptr, 0);
  std::string changed = data_changed(rc, artifacts);
  if (!changed.empty()) return changed + " since its tokens were made";
  const std::string used = record.tokens_sha256(run);
  std::ifstream checksum(
      checksum_path((fs::path(artifacts.path("tokens", rc.data_hash)) / "tokens.pt").string()));
  std::string now;
  if (!used.empty() && checksum >> now && now != used)
    return "its token cache has been made again since, from other data";
  return "";
}

// The key under which rank 0 posts how run i ended.
std::string outcome_key(size_t i, const RunConfig& rc) {
  return fmt::format("run/{}/{}/outcome", i, rc.hash);
}

}  // namespace

RunSummary run_experiment(const Experiment& exp, Store& store, const PluginRegistry& registry,
                          const RunOptions& options) {
  RunRecord record(&store);
  return run_experiment(exp, record, registry, options);
}

RunSummary run_experiment(const Experiment& exp, RunRecord& record, const PluginRegistry& registry,
                          const RunOptions& options) {
  RunSummary summary;
  RunOptions opt = options;
  if (opt.artifacts_root.empty()) {
    if (!record.store())
      throw Error("run_experiment: a worker without the store needs RunOptions::artifacts_root");
    opt.artifacts_root =
        (fs::absolute(record.store()->path()).parent_path() / "artifacts").string();
  }
  record.mark_dead_runs();
  const int64_t exp_id = record.experiment(exp.name, exp.file);
  install_interrupt_handler();
  const RunWorkers workers(opt.cluster);
  for (size_t i = 0; i < exp.runs.size(); ++i) {
    if (interrupted()) {  // before this run began: nothing to record
      ++summary.interrupted;
      break;
    }
    const RunConfig& rc = exp.runs[i];
    const std::string tag =
        fmt::format("run {}/{} '{}' ({})", i + 1, exp.runs.size(), rc.label, rc.hash);
    // Two processes running this config into one store at once: the second waits for
    // the first, then finds it finished and skips it (one finished row, not two).
    std::unique_ptr<ArtifactLock> run_lock;
    if (workers.leader())
      run_lock = StoreArtifacts(opt.artifacts_root, nullptr, 0)
                     .lock("runs", short_hash(exp.name + "\n" + rc.hash));
    if (!opt.force) {
      // Data-parallel: rank 0's store decides (the others' record holds nothing).
      auto done = record.finished_run(exp_id, rc.hash);
      if (done) {
        const std::string changed = data_changed_since(record, *done, rc, opt.artifacts_root);
        if (!changed.empty()) {
          log_message(LogLevel::Warn, fmt::format("{}: finished as run {}, but {}; running it "
                                                  "again",
                                                  tag, *done, changed));
          done.reset();
        }
      }
      if (workers.agree(done.has_value())) {
        log_message(LogLevel::Info, fmt::format("{}: already finished as run {}; skipped "
                                                "(--force to redo)",
                                                tag, done.value_or(0)));
        ++summary.skipped;
        continue;
      }
    }
    const auto& e = rc.at("experiment");
    torch::Device device = resolve_device(e.get_string("device"));
    // Data-parallel on GPUs: one per local worker (NCCL's rule too).
    if (device.is_cuda() && workers.several())
      device = torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(
                                               opt.local_rank % torch::cuda::device_count()));
    Provenance prov = collect_provenance(opt.command_line);
    prov.device = device.str();
    prov.threads = set_threads(e.get_int("threads"), opt.local_workers);
    const int64_t run_id = record.begin_run(exp_id, rc, prov);
    log_message(LogLevel::Info, fmt::format("{}: started as run {} on {} with {} threads", tag,
                                            run_id, prov.device, prov.threads));
    auto t0 = std::chrono::steady_clock::now();
    try {
      torch::manual_seed(derive_seed(static_cast<uint64_t>(e.get_int("seed")), "host", "torch"));
      execute(rc, record, run_id, registry, opt, device);
      // Data-parallel: the others wait here while rank 0 evaluates, and end as it did.
      const std::string outcome = workers.outcome(outcome_key(i, rc), "finished");
      if (outcome != "finished") {
        record.end_run(run_id, outcome, "rank 0's run ended so");
        ++summary.failed;
        break;
      }
      record.end_run(run_id, "finished");
      ++summary.finished;
      double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      log_message(LogLevel::Info, fmt::format("{}: finished in {}", tag, format_duration(secs)));
    } catch (const Interrupted& ex) {
      workers.tell(outcome_key(i, rc), "interrupted");
      record.end_run(run_id, "interrupted", ex.what());
      ++summary.interrupted;
      log_message(LogLevel::Warn, fmt::format("{}: {}", tag, ex.what()));
      break;  // the user asked to stop: no further runs
    } catch (...) {
      const std::string message = current_exception_message();  // no C++ frames
      record.end_run(run_id, "failed", message);
      ++summary.failed;
      log_message(LogLevel::Warn, fmt::format("{}: failed: {}", tag, message));
      // A data-parallel experiment stops at its first failed run (rerun the command to
      // resume it): rank 0 tells the others, who may be waiting on it.
      workers.tell(outcome_key(i, rc), "failed");
      if (workers.several()) break;
    }
  }
  return summary;
}

}  // namespace wb
