#pragma once
// The subcommands of the `workbench` CLI, one file each.
#include <CLI/CLI.hpp>

#include "plugins/plugin_registry.hpp"

namespace wb::cli {

// Each adds its subcommand to `app`; the callback sets `exit_code`.
void add_run(CLI::App& app, int& exit_code);
void add_plugins(CLI::App& app, int& exit_code);
void add_results(CLI::App& app, int& exit_code);
void add_sample(CLI::App& app, int& exit_code);
void add_check(CLI::App& app, int& exit_code);
void add_report(CLI::App& app, int& exit_code);

// The plugins on the default search path; refused ones are logged as warnings.
PluginRegistry load_plugins();

std::string default_db();
std::string command_line();
// argv[1..] as given: what a data-parallel launcher passes on to its workers.
const std::vector<std::string>& raw_args();

}  // namespace wb::cli
