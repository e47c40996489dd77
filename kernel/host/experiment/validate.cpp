#include "experiment/validate.hpp"

#include <cmath>

#include <fmt/format.h>

#include <workbench/error.hpp>

#include "platform/text_match.hpp"
#include "plugins/plugin_registry.hpp"

namespace wb::experiment_file {

namespace {

// Makes the value the schema's type where that loses nothing (3 -> 3.0, [] -> any list).
bool coerce(Value& v, Type want) {
  Type have = type_of(v);
  if (have == want) return true;
  if (want == Type::Float && have == Type::Int) {
    v = static_cast<double>(std::get<int64_t>(v));
    return true;
  }
  if (want == Type::FloatList && have == Type::IntList) {
    const auto& xs = std::get<std::vector<int64_t>>(v);
    v = std::vector<double>(xs.begin(), xs.end());
    return true;
  }
  if (want == Type::StringList && have == Type::IntList &&
      std::get<std::vector<int64_t>>(v).empty()) {
    v = std::vector<std::string>{};
    return true;
  }
  return false;
}

void check_bounds(const Key& k, const Value& v, const Loc& loc, const std::string& sec) {
  auto check = [&](double x) {
    const std::string problem = bounds_problem(k, x);
    if (!problem.empty())
      fail(loc, fmt::format("[{}] key '{}' = {} {}", sec, k.name, to_text(v), problem));
  };
  if (auto i = std::get_if<int64_t>(&v)) check(static_cast<double>(*i));
  if (auto d = std::get_if<double>(&v)) check(*d);
  if (auto xs = std::get_if<std::vector<int64_t>>(&v))
    for (auto x : *xs) check(static_cast<double>(x));
  if (auto s = std::get_if<std::string>(&v);
      s && !k.choices.empty() &&
      std::find(k.choices.begin(), k.choices.end(), *s) == k.choices.end())
    fail(loc, fmt::format("[{}] key '{}' = \"{}\" is not one of: {}", sec, k.name, *s,
                          join(k.choices, ", ")));
}

}  // namespace

// Validates `raw` against the schemas (host keys first) and fills in defaults.
Section resolve(const std::string& name, const RawSection& raw,
                const std::vector<const Schema*>& schemas, const std::string& owner) {
  std::map<std::string, Value> out;
  std::vector<std::string> valid;
  for (const auto* s : schemas)
    for (const auto& k : s->keys()) valid.push_back(k.name);
  for (const auto& [key, rv] : raw.keys) {
    if (key == "plugin") continue;
    const Key* k = nullptr;
    for (const auto* s : schemas)
      if (!k) k = s->find(key);
    if (!k) {
      std::string near = closest(key, valid);
      fail(rv.loc, fmt::format("[{}] unknown key '{}'{}{}; valid keys: {}", name, key,
                               owner.empty() ? "" : fmt::format(" for {}", owner),
                               near.empty() ? "" : fmt::format(" (did you mean '{}'?)", near),
                               valid.empty() ? "(none)" : join(valid, ", ")));
    }
    Value v = rv.value;
    if (!coerce(v, k->type))
      fail(rv.loc, fmt::format("[{}] key '{}' must be of type {}, got {} {}", name, key,
                               type_name(k->type), type_name(type_of(v)), to_text(v)));
    check_bounds(*k, v, rv.loc, name);
    out[key] = std::move(v);
  }
  for (const auto* s : schemas) {
    for (const auto& k : s->keys()) {
      if (out.count(k.name)) continue;
      if (k.required)
        fail(raw.loc,
             fmt::format("[{}] needs key '{}' ({}: {})", name, k.name, type_name(k.type), k.doc));
      out[k.name] = k.default_value;
    }
  }
  return Section(name, std::move(out));
}

Section resolve_plugin_section(const std::string& name, const std::string& kind,
                               const RawSection& raw, const PluginRegistry& reg,
                               const Schema& host_keys) {
  auto it = raw.keys.find("plugin");
  if (it == raw.keys.end()) {
    auto known = reg.names(kind);
    fail(raw.loc, fmt::format("[{}] needs key 'plugin' (the {} to use; available: {})", name, kind,
                              known.empty() ? "(none)" : join(known, ", ")));
  }
  const auto* plugin = std::get_if<std::string>(&it->second.value);
  if (!plugin) fail(it->second.loc, fmt::format("[{}] key 'plugin' must be a string", name));
  const LoadedPlugin* p = nullptr;
  try {
    p = &reg.get(kind, *plugin);
  } catch (const Error& e) {
    fail(it->second.loc, fmt::format("[{}] {}", name, e.what()));
  }
  Section s = resolve(name, raw, {&host_keys, &p->schema}, fmt::format("plugin '{}'", *plugin));
  auto values = s.values();
  values["plugin"] = *plugin;
  return Section(name, std::move(values));
}

}  // namespace wb::experiment_file
