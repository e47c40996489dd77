#include "experiment/experiment.hpp"

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include <fmt/format.h>
#include <toml++/toml.h>

#include <workbench/error.hpp>

#include "experiment/run_identity.hpp"
#include "experiment/toml_reader.hpp"
#include "platform/text_match.hpp"

namespace wb {

using namespace experiment_file;

std::string name_problem(const std::string& name) {
  if (name.empty()) return "is empty";
  for (unsigned char c : name)
    if (c < 0x20 || c == 0x7f) return "holds a control character (or NUL)";
  if (name.find_first_of("/\\") != std::string::npos) return "holds a path separator";
  if (name.find("..") != std::string::npos) return "holds '..'";
  return "";
}

namespace {
// `s` with control characters shown as \xNN, for an error message.
std::string printable(const std::string& s) {
  std::string out;
  for (unsigned char c : s)
    out += c < 0x20 || c == 0x7f ? fmt::format("\\x{:02x}", c) : std::string(1, char(c));
  return out;
}
}  // namespace

Experiment parse_experiment(const std::string& text, const std::string& file,
                            const std::vector<std::string>& overrides,
                            const PluginRegistry& registry) {
  toml::table root;
  try {
    root = toml::parse(text, file);
  } catch (const toml::parse_error& e) {
    const auto& b = e.source().begin;
    throw Error(
        fmt::format("{}:{}:{}: malformed TOML: {}", file, b.line, b.column, e.description()));
  }

  RawConfig base;
  // variant name -> the keys it sets
  std::vector<std::pair<std::string, std::vector<std::pair<Path, RawValue>>>> variant_paths;
  std::vector<std::pair<Path, std::vector<RawValue>>> sweep;

  for (const auto& [k, node] : root) {
    std::string key(k.str());
    Loc loc = loc_of_key(k, file);
    if (std::find(kTopLevel.begin(), kTopLevel.end(), key) == kTopLevel.end()) {
      std::string near = closest(key, kTopLevel);
      fail(loc, fmt::format("unknown section '{}'{}; sections: {}", key,
                            near.empty() ? "" : fmt::format(" (did you mean '{}'?)", near),
                            join(kTopLevel, ", ")));
    }
    if (key == "evaluators") {
      auto arr = node.as_array();
      if (!arr || !arr->is_array_of_tables())
        fail(loc, "'evaluators' must be a list of tables: write each as [[evaluators]]");
      for (size_t i = 0; i < arr->size(); ++i)
        base.evaluators.push_back(
            read_section(*arr->get(i)->as_table(), fmt::format("evaluators.{}", i), file));
    } else if (key == "variants") {
      if (!node.is_table()) fail(loc, "'variants' must be a table: [variants.NAME.SECTION]");
      for (const auto& [vk, vnode] : in_file_order(*node.as_table())) {
        std::string vname(vk.str());
        if (const std::string why = name_problem(vname); !why.empty())
          fail(loc_of_key(vk, file), fmt::format("variant name '{}' {}", printable(vname), why));
        if (!vnode->is_table())
          fail(loc_of_key(vk, file), fmt::format("variant '{}' must be a table", vname));
        std::vector<std::pair<Path, RawValue>> paths;
        for_each_path(*vnode->as_table(), file, "variants." + vname,
                      [&](const Path& p, const toml::node& n, const Loc& l) {
                        paths.push_back({p, RawValue{to_value(n, l, p.str()), l}});
                      });
        variant_paths.push_back({vname, std::move(paths)});
      }
    } else if (key == "sweep") {
      if (!node.is_table()) fail(loc, "'sweep' must be a table: [sweep.SECTION] key = [values]");
      for_each_path(
          *node.as_table(), file, "sweep", [&](const Path& p, const toml::node& n, const Loc& l) {
            auto arr = n.as_array();
            if (!arr || arr->empty())
              fail(l, fmt::format("[sweep] '{}' must be a non-empty list of values", p.str()));
            std::vector<RawValue> values;
            for (const auto& e : *arr)
              values.push_back(RawValue{to_value(e, loc_of(e, file), p.str()), loc_of(e, file)});
            sweep.push_back({p, std::move(values)});
          });
    } else {
      if (!node.is_table()) fail(loc, fmt::format("'{}' must be a table: [{}]", key, key));
      base.sections[key] = read_section(*node.as_table(), key, file);
    }
  }

  std::vector<std::pair<Path, RawValue>> sets;
  for (const auto& o : overrides) {
    std::string path;
    RawValue v = parse_override(o, &path);
    sets.push_back({parse_path(path, v.loc), v});
  }

  Experiment exp;
  exp.file = file;
  std::string stem = std::filesystem::path(file).stem().string();
  if (variant_paths.empty()) variant_paths.push_back({"", {}});
  // Sweep points: the cartesian product, last key varying fastest.
  size_t points = 1;
  for (const auto& s : sweep) points *= s.second.size();
  for (const auto& [vname, vpaths] : variant_paths) {
    for (size_t point = 0; point < points; ++point) {
      RawConfig cfg = base;
      std::string label = vname;
      for (const auto& [p, v] : vpaths) apply(cfg, p, v);
      size_t rest = point;
      for (size_t i = sweep.size(); i-- > 0;) {
        const auto& [p, values] = sweep[i];
        const RawValue& v = values[rest % values.size()];
        rest /= values.size();
        apply(cfg, p, v);
      }
      for (const auto& [p, v] : sets) apply(cfg, p, v);
      RunConfig rc = resolve_run(cfg, stem, registry);
      for (const auto& entry : sweep) {
        const Path& p = entry.first;
        const Value& v =
            p.index >= 0 ? rc.evaluators.at(p.index).at(p.key) : rc.at(p.section).at(p.key);
        label += fmt::format("{}{}={}", label.empty() ? "" : " ", p.str(), to_text(v));
      }
      rc.label = label.empty() ? "default" : label;
      for (unsigned char c : rc.label)
        if (c < 0x20 || c == 0x7f)
          throw Error(
              fmt::format("{}: run label '{}' holds a control character (from a swept "
                          "value)",
                          file, printable(rc.label)));
      exp.runs.push_back(std::move(rc));
    }
  }
  exp.name = exp.runs.front().at("experiment").get_string("name");
  // The name becomes a folder (reports, samples): it is checked where it was set.
  if (const std::string why = name_problem(exp.name); !why.empty()) {
    std::optional<Loc> where;
    for (const auto& [p, v] : sets)
      if (p.section == "experiment" && p.key == "name") where = v.loc;
    const auto sec = base.sections.find("experiment");
    if (!where && sec != base.sections.end() && sec->second.keys.count("name"))
      where = sec->second.keys.at("name").loc;
    const std::string msg = fmt::format(
        "[experiment] key 'name' = '{}' {} (it names the "
        "experiment's folders: letters, digits, '-', '_', '.')",
        printable(exp.name), why);
    if (where) fail(*where, msg);
    throw Error(fmt::format("{}: {} (from the file's name)", file, msg));
  }
  return exp;
}

std::string config_without_seed(const std::string& canonical) {
  std::istringstream in(canonical);
  std::string line, out, section;
  while (std::getline(in, line)) {
    if (!line.empty() && line[0] == '[') section = line;
    if (section == "[experiment]" && line.rfind("seed = ", 0) == 0) continue;
    out += line + "\n";
  }
  return out;
}

Experiment load_experiment(const std::string& file, const std::vector<std::string>& overrides,
                           const PluginRegistry& registry) {
  std::error_code ec;
  if (std::filesystem::is_directory(file, ec))
    throw Error(
        fmt::format("{}: is a folder, not an experiment file (give a .toml file, e.g. "
                    "experiments/quickstart.toml)",
                    file));
  std::ifstream in(file);
  if (!in) throw Error(fmt::format("{}: cannot open experiment file", file));
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_experiment(ss.str(), file, overrides, registry);
}

}  // namespace wb
