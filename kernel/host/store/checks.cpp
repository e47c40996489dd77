#include "store/checks.hpp"

#include <cmath>
#include <set>

#include <fmt/format.h>
#include <toml++/toml.h>
#include <workbench/error.hpp>

namespace wb {

std::vector<Check> load_checks(const std::string& file) {
  toml::table root;
  try {
    root = toml::parse_file(file);
  } catch (const toml::parse_error& e) {
    throw Error(fmt::format("{}:{}: {}", file, e.source().begin.line, e.description()));
  }
  for (const auto& [key, node] : root)
    if (key.str() != "check" && key.str() != "experiment")
      throw Error(fmt::format("{}:{}: unknown key '{}' (expected [[check]] entries)", file,
                              node.source().begin.line, key.str()));
  const auto* list = root["check"].as_array();
  if (!list || list->empty()) throw Error(fmt::format("{}: no [[check]] entries", file));
  const std::set<std::string> known = {"name", "sql", "min", "max", "why"};
  std::vector<Check> checks;
  for (const auto& node : *list) {
    const auto* t = node.as_table();
    const int line = static_cast<int>(node.source().begin.line);
    if (!t) throw Error(fmt::format("{}:{}: a check must be a table", file, line));
    Check c;
    c.line = line;
    for (const auto& [key, value] : *t) {
      const int at = static_cast<int>(value.source().begin.line);
      if (!known.count(std::string(key.str())))
        throw Error(fmt::format("{}:{}: unknown key '{}' in a check (name, sql, min, max, why)",
                                file, at, key.str()));
      const bool number = value.is_floating_point() || value.is_integer();
      if ((key == "min" || key == "max") && !number)
        throw Error(fmt::format("{}:{}: '{}' must be a number", file, at, key.str()));
      if ((key == "name" || key == "sql" || key == "why") && !value.is_string())
        throw Error(fmt::format("{}:{}: '{}' must be a string", file, at, key.str()));
    }
    c.name = (*t)["name"].value_or(std::string());
    c.sql = (*t)["sql"].value_or(std::string());
    c.why = (*t)["why"].value_or(std::string());
    if (auto v = (*t)["min"].value<double>()) c.min = *v;
    if (auto v = (*t)["max"].value<double>()) c.max = *v;
    if (c.name.empty() || c.sql.empty())
      throw Error(fmt::format("{}:{}: a check needs a name and an sql query", file, line));
    if (!c.min && !c.max)
      throw Error(
          fmt::format("{}:{}: check '{}' has no band (min and/or max)", file, line, c.name));
    checks.push_back(c);
  }
  return checks;
}

std::vector<CheckResult> run_checks(Store& store, const std::vector<Check>& checks) {
  std::vector<CheckResult> out;
  for (const auto& c : checks) {
    CheckResult r;
    r.check = &c;
    std::string text;  // the first row's first value
    bool any = false;
    try {
      store.query_read_only(c.sql, [&](auto&, const auto& v) {
        if (!any && !v.empty()) text = v[0];
        any = true;
      });
    } catch (const std::exception& e) {
      throw Error(fmt::format("check '{}' (line {}): {}", c.name, c.line, e.what()));
    }
    if (!text.empty()) {
      size_t used = 0;
      double value = 0;
      try {
        value = std::stod(text, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != text.size())
        throw Error(fmt::format("check '{}' (line {}): its query gave '{}', not a number", c.name,
                                c.line, text.substr(0, 80)));
      r.value = value;
    }
    r.passed = r.value && std::isfinite(*r.value) && (!c.min || *r.value >= *c.min) &&
               (!c.max || *r.value <= *c.max);
    out.push_back(r);
  }
  return out;
}

}  // namespace wb
