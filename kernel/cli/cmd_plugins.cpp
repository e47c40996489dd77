// `workbench plugins [--describe NAME]`
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "commands.hpp"
#include "experiment/experiment.hpp"
#include "experiment/run_keys.hpp"
#include "experiment/training_keys.hpp"
#include "plugins/plugin_registry.hpp"
#include "table.hpp"

namespace wb::cli {

namespace {
void describe_keys(const Schema& schema, std::vector<std::vector<std::string>>& rows) {
  for (const auto& k : schema.keys()) {
    std::string def = k.required ? "(required)" : to_text(k.default_value);
    std::string doc = k.doc;
    if (!k.choices.empty()) doc += " [" + fmt::format("{}", fmt::join(k.choices, "|")) + "]";
    rows.push_back({k.name, type_name(k.type), def, doc});
  }
}
}  // namespace

void add_plugins(CLI::App& app, int& exit_code) {
  auto describe = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("plugins", "List the plugins found, or describe one");
  cmd->add_option("--describe", *describe,
                  "print a plugin's config keys (or 'experiment', 'training')");
  cmd->callback([describe, &exit_code] {
    PluginRegistry reg;
    auto path = PluginRegistry::default_search_path();
    reg.scan(path);
    if (describe->empty()) {
      std::vector<std::vector<std::string>> rows;
      for (const auto& p : reg.plugins())
        rows.push_back({p.kind(), p.name(), p.manifest->version, p.manifest->description});
      std::sort(rows.begin(), rows.end());
      print_table(std::cout, {"kind", "name", "version", "description"}, rows);
      std::cout << "\nsearched: " << fmt::format("{}", fmt::join(path, ":")) << "\n";
      for (const auto& r : reg.refused())
        std::cout << "refused: " << r.path << " " << r.reason << "\n";
      exit_code = reg.refused().empty() ? 0 : 1;
      return;
    }
    std::vector<std::vector<std::string>> rows;
    if (*describe == "experiment" || *describe == "training") {
      std::cout << fmt::format("[{}] (host section)\n\n", *describe);
      describe_keys(*describe == "experiment" ? experiment_schema() : training_schema(), rows);
    } else {
      const LoadedPlugin* found = nullptr;
      for (const auto& p : reg.plugins())
        if (p.name() == *describe) found = &p;
      if (!found) {
        for (const auto& r : reg.refused())
          if (r.name == *describe)
            throw Error(fmt::format("plugin '{}' was refused: {} {}", r.name, r.path, r.reason));
        // A library refused before its name could be read (another ABI) may be the one
        // meant: say why each such library was refused.
        std::string msg =
            fmt::format("no loadable plugin named '{}' (see `workbench plugins`)", *describe);
        for (const auto& r : reg.refused())
          if (r.name.empty()) msg += fmt::format("\n  refused: {} {}", r.path, r.reason);
        throw Error(msg);
      }
      const auto* m = found->manifest;
      std::cout << fmt::format("{} {} {}: {}\n  library: {}\n\n", m->kind, m->name, m->version,
                               m->description, found->path);
      std::string section =
          found->kind() == "evaluator" ? "[[evaluators]]" : "[" + found->kind() + "]";
      rows.push_back({"plugin", "string", fmt::format("\"{}\"", m->name),
                      "selects this plugin in " + section});
      describe_keys(host_keys_of(found->kind()), rows);
      describe_keys(found->schema, rows);
    }
    print_table(std::cout, {"key", "type", "default", "doc"}, rows);
  });
}

}  // namespace wb::cli
