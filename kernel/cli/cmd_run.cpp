// `workbench run FILE [--set SECTION.KEY=VALUE]... [--shard i/n] [--dry-run] [--force] [--db PATH]
//                    [--nproc N [--nnodes M --node-rank K --master ADDR:PORT]]`
#include <filesystem>
#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "commands.hpp"
#include "distributed/cluster.hpp"
#include "distributed/launch_env.hpp"
#include "distributed/launcher.hpp"
#include "distributed/run_workers.hpp"
#include "distributed/shard.hpp"
#include "experiment/experiment.hpp"
#include "platform/interrupt.hpp"
#include "plugins/plugin_registry.hpp"
#include "results_tables.hpp"
#include "run/provenance.hpp"
#include "run/run_record.hpp"
#include "run/runner.hpp"

namespace wb::cli {

namespace {
struct RunArgs {
  std::string file;
  std::vector<std::string> sets;
  std::string db = default_db();
  std::string artifacts;
  std::string shard;
  bool dry_run = false;
  bool force = false;
  bool recompute = false;
  LaunchSpec launch;
  std::string master;
  int64_t timeout_s = 300;
};

// What the flags ask of the runs (--recompute is --force and more).
RunOptions run_options(const RunArgs& args) {
  RunOptions opt{args.force || args.recompute, args.artifacts, command_line()};
  opt.recompute = args.recompute;
  return opt;
}

// Every run's global batch must split evenly over the workers; said before any starts.
void check_batches(const Experiment& exp, int64_t workers) {
  for (const auto& rc : exp.runs) {
    const int64_t b = rc.at("training").get_int("batch_size");
    if (b % workers != 0)
      throw Error(
          fmt::format("{}: run '{}': training.batch_size = {} does not split evenly over "
                      "{} workers (it is the global batch)",
                      exp.file, rc.label, b, workers));
  }
}

// The launcher's side of `--nproc`: start the workers, wait, and close the runs of a
// worker that died before it could.
int launch(const RunArgs& args, const Experiment& exp) {
  if (!has_process_groups())
    throw Error("--nproc/--nnodes: data-parallel training is unavailable: " +
                process_group_unavailable_reason());
  check_batches(exp, args.launch.nproc * args.launch.nnodes);
  const auto exits = launch_workers(args.launch, raw_args());
  bool ok = true;
  std::string why;
  for (const auto& w : exits) {
    if (w.ok()) continue;
    ok = false;
    why += (why.empty() ? "" : "; ") + w.describe();
  }
  if (!ok && args.launch.node_rank == 0) {
    Store store(args.db);
    for (const auto& w : exits)
      store.fail_open_runs(host_name(), w.pid, "data-parallel worker failed: " + why);
    spdlog::error(
        "data-parallel run failed: {}; rerun the same command to resume from the last "
        "checkpoint",
        why);
  }
  return ok ? 0 : 1;
}

// A worker's side: join the process group and run; the leader records the runs in the
// store (RunRecord::for_workers) and says what it does, the others say only warnings.
int work(const RunArgs& args, const Experiment& exp, const ClusterSpec& spec,
         const PluginRegistry& reg) {
  namespace fs = std::filesystem;
  auto cluster = connect_cluster(spec);
  const RunWorkers workers(cluster.get());
  if (!workers.leader() && !std::getenv("WORKBENCH_LOG")) spdlog::set_level(spdlog::level::warn);
  spdlog::info(
      "worker {} of {} ({} on this machine), started by {}; rendezvous at {}:{}; "
      "collectives: {}",
      spec.rank, spec.world, spec.local_world, spec.launcher, spec.master_addr, spec.master_port,
      cluster->backend());
  RunOptions opt = run_options(args);
  opt.cluster = cluster.get();
  opt.local_workers = spec.local_world;
  opt.local_rank = spec.local_rank;
  if (opt.artifacts_root.empty())
    opt.artifacts_root = (fs::absolute(args.db).parent_path() / "artifacts").string();
  RunSummary s;
  {
    RunRecord record = RunRecord::for_workers(args.db, workers);
    s = run_experiment(exp, record, reg, opt);
    if (Store* store = record.store()) {
      std::cout << fmt::format(
          "\n{}: {} finished, {} skipped (already done), {} failed, {} interrupted on {} "
          "workers; results in {}\n\n",
          exp.name, s.finished, s.skipped, s.failed, s.interrupted, spec.world, args.db);
      print_experiment_tables(*store, exp.name, std::cout);
    }
  }
  // Rank 0 keeps the rendezvous store alive until every worker has read its last word.
  if (s.ok()) cluster->barrier();
  return s.ok() ? 0 : 1;
}
}  // namespace

PluginRegistry load_plugins() {
  PluginRegistry reg;
  reg.scan(PluginRegistry::default_search_path());
  for (const auto& r : reg.refused()) spdlog::warn("plugin {} refused: {}", r.path, r.reason);
  return reg;
}

void add_run(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<RunArgs>();
  auto* cmd = app.add_subcommand("run", "Run every run of an experiment file");
  cmd->add_option("file", args->file, "experiment TOML file")->required();
  cmd->add_option("--set", args->sets, "override a key: SECTION.KEY=VALUE (repeatable)");
  cmd->add_option("--shard", args->shard,
                  "i/n: run only this machine's share of the runs (0 <= i < n); merge the "
                  "shares' stores with `workbench results merge`");
  cmd->add_flag("--dry-run", args->dry_run, "print the expanded, resolved runs and stop");
  cmd->add_flag("--force", args->force,
                "redo runs whose config already finished, computing every evaluation again "
                "from the start (not copying the store's results of the same checkpoint, "
                "config and code, nor resuming a stopped fine-tuning), reusing cached tokens, "
                "checkpoints and features");
  cmd->add_flag("--recompute", args->recompute,
                "--force, and also remake every artifact the runs use (tokens, palette, "
                "checkpoint, features), deleting the cached ones first");
  cmd->add_option("--db", args->db, "results store")->capture_default_str();
  cmd->add_option("--artifacts", args->artifacts, "artifact folder (default: beside the store)");
  cmd->add_option("--nproc", args->launch.nproc,
                  "data-parallel: worker processes on this machine (Gloo process group); "
                  "training.batch_size is the global batch")
      ->check(CLI::Range(int64_t{1}, int64_t{1024}));
  cmd->add_option("--nnodes", args->launch.nnodes, "data-parallel: machines taking part")
      ->check(CLI::Range(int64_t{1}, int64_t{4096}));
  cmd->add_option("--node-rank", args->launch.node_rank,
                  "data-parallel: this machine's index, 0 .. nnodes-1 (node 0 records the run)");
  cmd->add_option("--master", args->master,
                  "data-parallel: ADDR:PORT of node 0's rendezvous (needed with --nnodes > 1)");
  cmd->add_option("--dist-timeout", args->timeout_s,
                  "data-parallel: seconds a rendezvous or collective may wait on a peer")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{7 * 24 * 3600}));
  cmd->callback([args, &exit_code] {
    // From the start: Ctrl-C or SIGTERM while plugins load or data are read stops the
    // run cleanly too (a second one ends the process at once).
    install_interrupt_handler();
    PluginRegistry reg = load_plugins();
    Experiment exp = load_experiment(args->file, args->sets, reg);
    if (!args->shard.empty()) {
      const Shard shard = parse_shard(args->shard);
      const size_t all = exp.runs.size();
      exp = select_shard(std::move(exp), shard);
      spdlog::info("shard {}/{}: {} of the experiment's {} runs", shard.index, shard.count,
                   exp.runs.size(), all);
    }
    if (args->dry_run) {
      print_runs(exp, std::cout);
      return;
    }
    // A worker that a launcher started: the workbench's own, torchrun or SLURM's srun.
    if (auto spec = cluster_spec_from_env(args->master)) {
      exit_code = work(*args, exp, *spec, reg);
      return;
    }
    if (args->launch.nproc > 1 || args->launch.nnodes > 1) {
      if (!args->master.empty())
        parse_master(args->master, &args->launch.master_addr, &args->launch.master_port);
      args->launch.timeout = std::chrono::seconds(args->timeout_s);
      exit_code = launch(*args, exp);
      return;
    }
    Store store(args->db);
    RunSummary s = run_experiment(exp, store, reg, run_options(*args));
    std::cout << fmt::format(
        "\n{}: {} finished, {} skipped (already done), {} failed, {} "
        "interrupted; results in {}\n\n",
        exp.name, s.finished, s.skipped, s.failed, s.interrupted, args->db);
    print_experiment_tables(store, exp.name, std::cout);
    exit_code = s.ok() ? 0 : 1;
  });
}

}  // namespace wb::cli
