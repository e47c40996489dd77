// `workbench report EXPERIMENT [--db PATH] [--out DIR]`: the experiment's tables and
// figures as a folder (report.md and PNGs), drawn by tools/report.py with matplotlib
// from the results store. The host finds the script and a Python with matplotlib; the
// script reads the store read-only.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>

#include <fmt/format.h>
#include <boost/dll/runtime_symbol_info.hpp>

#include <workbench/error.hpp>

#include "commands.hpp"
#include "store/store.hpp"

namespace fs = std::filesystem;

namespace wb::cli {

namespace {
struct ReportArgs {
  std::string experiment;
  std::string db = default_db();
  std::string out;
  bool by_seed = false;
};

// <prefix>/share/workbench/report.py beside <prefix>/bin/workbench: installed there,
// and copied there in the build tree (build/share/workbench).
std::string report_script() {
  // The binary's own path, as the plugin registry finds its plugins.
  const fs::path exe = boost::dll::program_location().string();
  const fs::path script = exe.parent_path().parent_path() / "share" / "workbench" / "report.py";
  if (!fs::exists(script))
    throw Error("report: cannot find report.py (looked in " + script.string() + ")");
  return script.string();
}

// WORKBENCH_PYTHON, else Debian's python3 (where apt puts python3-matplotlib), else
// whatever python3 is on the path.
std::string python() {
  if (const char* env = std::getenv("WORKBENCH_PYTHON")) return env;
  return fs::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
}

std::string shell_quoted(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}
}  // namespace

void add_report(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<ReportArgs>();
  auto* cmd = app.add_subcommand("report", "Write an experiment's tables and figures");
  cmd->add_option("experiment", args->experiment, "experiment name")->required();
  cmd->add_option("--db", args->db, "results store")->capture_default_str();
  cmd->add_option("--out", args->out, "folder (default: reports/<experiment> beside the store)");
  cmd->add_flag("--by-seed", args->by_seed,
                "every run apart (default: runs that differ only in seed as mean ± std)");
  cmd->callback([args, &exit_code] {
    checked_experiment_name(args->experiment);
    // The store's schema checked here, as every reading command checks it, before
    // the script reads it.
    Store::open_for_reading(args->db);
    const std::string out =
        args->out.empty()
            ? (fs::absolute(args->db).parent_path() / "reports" / args->experiment).string()
            : args->out;
    const std::string cmd = fmt::format("{} {} --db {} --experiment {} --out {}{}",
                                        shell_quoted(python()), shell_quoted(report_script()),
                                        shell_quoted(args->db), shell_quoted(args->experiment),
                                        shell_quoted(out), args->by_seed ? " --by-seed" : "");
    const int status = std::system(cmd.c_str());
    // The script names its own failures (no finished run, no matplotlib); a Python
    // that does not run it at all says nothing, so this line says what ran.
    exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
    if (exit_code != 0)
      throw Error(fmt::format(
          "report: {} {} {} (the Python is WORKBENCH_PYTHON, else /usr/bin/python3; it needs "
          "matplotlib)",
          python(), report_script(),
          WIFEXITED(status) ? fmt::format("exited with status {}", WEXITSTATUS(status))
                            : "was killed by a signal"));
  });
}

}  // namespace wb::cli
