#pragma once
// The subcommands of the `workbench` CLI, one file each.
#include <CLI/CLI.hpp>

namespace wb::cli {

// Each adds its subcommand to `app`; the callback sets `exit_code`.
void add_run(CLI::App& app, int& exit_code);
void add_plugins(CLI::App& app, int& exit_code);
void add_results(CLI::App& app, int& exit_code);

std::string default_db();
std::string command_line();

}  // namespace wb::cli
