// `workbench check CHECKS.toml [--db PATH]`: the tolerance bands of a reproduction,
// checked against the results store; exit 1 when one is broken (kernel/host/store/checks.hpp).
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "commands.hpp"
#include "store/checks.hpp"
#include "table.hpp"

namespace wb::cli {

namespace {
struct CheckArgs {
  std::string file;
  std::string db = default_db();
};

std::string band(const Check& c) {
  if (c.min && c.max) return fmt::format("[{:g}, {:g}]", *c.min, *c.max);
  return c.min ? fmt::format(">= {:g}", *c.min) : fmt::format("<= {:g}", *c.max);
}
}  // namespace

void add_check(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<CheckArgs>();
  auto* cmd = app.add_subcommand("check", "Check a results store against tolerance bands");
  cmd->add_option("file", args->file, "checks file (TOML, [[check]] entries)")->required();
  cmd->add_option("--db", args->db, "results store")->capture_default_str();
  cmd->callback([args, &exit_code] {
    const auto checks = load_checks(args->file);
    auto store = Store::open_for_reading(args->db);
    const auto results = run_checks(*store, checks);
    std::vector<std::vector<std::string>> rows;
    int failed = 0;
    for (const auto& r : results) {
      failed += !r.passed;
      rows.push_back({r.passed ? "ok" : "FAIL", r.check->name,
                      r.value ? fmt::format("{:.4g}", *r.value) : "no value", band(*r.check)});
    }
    print_table(std::cout, {"", "check", "value", "band"}, rows);
    std::cout << fmt::format("\n{}: {} of {} checks passed\n", args->file, results.size() - failed,
                             results.size());
    exit_code = failed ? 1 : 0;
  });
}

}  // namespace wb::cli
