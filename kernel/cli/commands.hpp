#pragma once
// The subcommands of the `workbench` CLI, one file each.
#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <workbench/config.hpp>

#include "plugins/plugin_registry.hpp"

namespace wb::cli {

// Each adds its subcommand to `app`; the callback sets `exit_code`.
void add_run(CLI::App& app, int& exit_code);
void add_plugins(CLI::App& app, int& exit_code);
void add_results(CLI::App& app, int& exit_code);
void add_sample(CLI::App& app, int& exit_code);
void add_check(CLI::App& app, int& exit_code);
void add_report(CLI::App& app, int& exit_code);
void add_export(CLI::App& app, int& exit_code);
void add_serve(CLI::App& app, int& exit_code);

// The plugins on the default search path; refused ones are logged as warnings.
PluginRegistry load_plugins();

std::string default_db();

// An option's bounds, checked and worded as an experiment file's keys are
// (wb::bounds_problem): `--scale 100000` is refused with its range.
inline CLI::Validator within(double lo, double hi) {
  Key k;
  k.range(lo, hi);
  return CLI::Validator(
      [k](std::string& text) -> std::string {
        double x = 0;
        size_t used = 0;
        try {
          x = std::stod(text, &used);
        } catch (const std::exception&) {
        }
        if (used != text.size() || text.empty()) return text + " is not a number";
        const std::string problem = bounds_problem(k, x);
        return problem.empty() ? "" : text + " " + problem;
      },
      fmt::format("in [{}, {}]", lo, hi));
}
// An experiment name given on the command line (it names a folder): refused when
// experiment files would refuse it.
std::string checked_experiment_name(const std::string& name);
std::string command_line();
// argv[1..] as given: what a data-parallel launcher passes on to its workers.
const std::vector<std::string>& raw_args();

}  // namespace wb::cli
