// workbench: the Image GPT experiment host. See README.md and docs/.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <iostream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <workbench/error.hpp>

#include "commands.hpp"
#include "experiment/experiment.hpp"
#include "platform/allocator.hpp"
#include "platform/text_match.hpp"
#include "plugins/plugin_guard.hpp"

namespace wb::cli {
namespace {
std::string g_command_line;
std::vector<std::string> g_args;
}  // namespace
const std::vector<std::string>& raw_args() {
  return g_args;
}
std::string command_line() {
  return g_command_line;
}
std::string default_db() {
  if (const char* env = std::getenv("WORKBENCH_DB")) return env;
  return "results/results.db";
}

std::string checked_experiment_name(const std::string& name) {
  if (const std::string why = name_problem(name); !why.empty())
    throw Error(fmt::format("experiment name '{}' {}", name, why));
  return name;
}
}  // namespace wb::cli

int main(int argc, char** argv) {
  wb::keep_freed_memory();
  for (int i = 0; i < argc; ++i) wb::cli::g_command_line += (i ? " " : "") + std::string(argv[i]);
  wb::cli::g_args.assign(argv + 1, argv + argc);
  spdlog::set_pattern("[%H:%M:%S] %^%l%$ %v");
  if (const char* lvl = std::getenv("WORKBENCH_LOG"))
    spdlog::set_level(spdlog::level::from_str(lvl));

  CLI::App app{"workbench: pretrain and probe Image GPT models from TOML experiment files"};
  app.require_subcommand(1);
  int exit_code = 0;
  wb::cli::add_run(app, exit_code);
  wb::cli::add_plugins(app, exit_code);
  wb::cli::add_results(app, exit_code);
  wb::cli::add_sample(app, exit_code);
  wb::cli::add_check(app, exit_code);
  wb::cli::add_report(app, exit_code);
  wb::cli::add_export(app, exit_code);
  wb::cli::add_serve(app, exit_code);
  // A first word that names no command: say which word, and the commands there are
  // (CLI11 alone would only say that a subcommand is required).
  if (argc > 1 && argv[1][0] != '-') {
    std::vector<std::string> commands;
    for (const auto* sub : app.get_subcommands({})) commands.push_back(sub->get_name());
    if (std::find(commands.begin(), commands.end(), argv[1]) == commands.end()) {
      std::string msg = fmt::format("error: unknown command '{}'", argv[1]);
      if (auto near = wb::closest(argv[1], commands); !near.empty())
        msg += fmt::format("; did you mean '{}'?", near);
      std::cerr << msg
                << fmt::format(" Commands: {} (workbench --help)\n", fmt::join(commands, ", "));
      return 1;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (...) {
    // wb::Error messages already name the file, line and key; LibTorch's lose their
    // C++ frames (WORKBENCH_LOG=debug shows them).
    std::cerr << "error: " << wb::current_exception_message() << "\n";
    return 1;
  }
  return exit_code;
}
