// `workbench sample FILE [--run LABEL] [--set ...] [--images N] [--samples K] ...`:
// completions of test images and unconditional samples from a run's pretrained
// checkpoint, as a PNG grid.
#include <filesystem>
#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <workbench/error.hpp>

#include "commands.hpp"
#include "experiment/experiment.hpp"
#include "run/runner.hpp"
#include "run/sampler.hpp"

namespace fs = std::filesystem;

namespace wb::cli {

namespace {
struct SampleArgs {
  std::string file, run, db = default_db();
  std::vector<std::string> sets;
  SampleOptions options;
};
}  // namespace

void add_sample(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<SampleArgs>();
  auto& o = args->options;
  auto* cmd = app.add_subcommand(
      "sample",
      "Complete test images (bottom half given the top) and sample unconditionally "
      "from a run's pretrained AR checkpoint; writes a PNG grid");
  cmd->add_option("file", args->file, "experiment TOML file")->required();
  cmd->add_option("--run", args->run, "the run's label (default: the first run)");
  cmd->add_option("--set", args->sets, "override a key: SECTION.KEY=VALUE (repeatable)");
  // Bounds: what fits in memory and a PNG (a 100000x scale asked for 141 TB).
  cmd->add_option("--images", o.images, "test images to complete")
      ->capture_default_str()
      ->check(within(1, 1024));
  cmd->add_option("--samples", o.samples, "completions per image")
      ->capture_default_str()
      ->check(within(1, 64));
  cmd->add_option("--unconditional", o.unconditional, "unconditional samples")
      ->capture_default_str()
      ->check(within(0, 1024));
  cmd->add_option("--temperature", o.temperature, "sampling temperature")
      ->capture_default_str()
      ->check(within(0.001, 100));
  cmd->add_option("--seed", o.seed, "seed of the sampled tokens")
      ->capture_default_str()
      ->check(within(0, 9007199254740992.0));
  cmd->add_option("--scale", o.scale, "PNG pixels per image pixel (0: at least 64 a side)")
      ->check(within(0, 64));
  cmd->add_option("--out", o.out,
                  "PNG file (default: reports/<experiment>/samples-<checkpoint>.png beside the "
                  "store)");
  cmd->add_option("--db", args->db, "results store, beside which artifacts live")
      ->capture_default_str();
  cmd->add_option("--artifacts", o.artifacts_root, "artifact folder (default: beside the store)");
  cmd->callback([args, &exit_code] {
    PluginRegistry reg = load_plugins();
    Experiment exp = load_experiment(args->file, args->sets, reg);
    const RunConfig* rc = &exp.runs.front();
    if (!args->run.empty()) {
      rc = nullptr;
      for (const auto& r : exp.runs)
        if (r.label == args->run) rc = &r;
      if (!rc) {
        std::string labels;
        for (const auto& r : exp.runs) labels += (labels.empty() ? "" : ", ") + r.label;
        throw Error(
            fmt::format("{}: no run labelled '{}' (runs: {})", args->file, args->run, labels));
      }
    }
    SampleOptions opt = args->options;
    if (opt.artifacts_root.empty())
      opt.artifacts_root = (fs::absolute(args->db).parent_path() / "artifacts").string();
    if (opt.out.empty())
      opt.out = (fs::absolute(args->db).parent_path() / "reports" / exp.name /
                 fmt::format("samples-{}.png", rc->pretrain_hash))
                    .string();
    set_threads(rc->at("experiment").get_int("threads"));
    sample_run(*rc, reg, opt);
    std::cout << opt.out << "\n";
    exit_code = 0;
  });
}

}  // namespace wb::cli
