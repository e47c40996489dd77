// `workbench run FILE [--set SECTION.KEY=VALUE]... [--shard i/n] [--dry-run] [--force] [--db PATH]`
#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "../src/experiment.hpp"
#include "../src/plugin_registry.hpp"
#include "../src/runner.hpp"
#include "../src/shard.hpp"
#include "commands.hpp"
#include "results_tables.hpp"

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
};
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
  cmd->add_flag("--force", args->force, "redo runs whose config already finished");
  cmd->add_option("--db", args->db, "results store")->capture_default_str();
  cmd->add_option("--artifacts", args->artifacts, "artifact folder (default: beside the store)");
  cmd->callback([args, &exit_code] {
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
    Store store(args->db);
    RunSummary s = run_experiment(exp, store, reg, {args->force, args->artifacts, command_line()});
    std::cout << fmt::format(
        "\n{}: {} finished, {} skipped (already done), {} failed, {} "
        "interrupted; results in {}\n\n",
        exp.name, s.finished, s.skipped, s.failed, s.interrupted, args->db);
    print_experiment_tables(store, exp.name, std::cout);
    exit_code = s.ok() ? 0 : 1;
  });
}

}  // namespace wb::cli
