#include "experiment/toml_reader.hpp"

#include <fmt/format.h>

#include <workbench/error.hpp>

#include "platform/text_match.hpp"

namespace wb::experiment_file {

Loc loc_of(const toml::node& n, const std::string& file) {
  const auto& b = n.source().begin;
  return Loc{file, static_cast<int64_t>(b.line), static_cast<int64_t>(b.column), ""};
}

// Errors point at the key, where the reader's eye goes.
Loc loc_of_key(const toml::key& k, const std::string& file) {
  const auto& b = k.source().begin;
  return Loc{file, static_cast<int64_t>(b.line), static_cast<int64_t>(b.column), ""};
}

[[noreturn]] void fail(const Loc& loc, const std::string& msg) {
  throw Error(fmt::format("{}: {}", loc.str(), msg));
}

Value to_value(const toml::node& n, const Loc& loc, const std::string& what) {
  if (auto v = n.as_boolean()) return v->get();
  if (auto v = n.as_integer()) return v->get();
  if (auto v = n.as_floating_point()) return v->get();
  if (auto v = n.as_string()) return v->get();
  if (auto arr = n.as_array()) {
    bool all_int = true, all_num = true, all_str = true;
    for (const auto& e : *arr) {
      all_int &= e.is_integer();
      all_num &= e.is_integer() || e.is_floating_point();
      all_str &= e.is_string();
    }
    if (arr->empty() || all_int) {
      std::vector<int64_t> out;
      for (const auto& e : *arr) out.push_back(e.as_integer()->get());
      return out;
    }
    if (all_num) {
      std::vector<double> out;
      for (const auto& e : *arr) out.push_back(e.value<double>().value());
      return out;
    }
    if (all_str) {
      std::vector<std::string> out;
      for (const auto& e : *arr) out.push_back(e.as_string()->get());
      return out;
    }
    fail(loc, fmt::format("{}: a list must hold only numbers or only strings", what));
  }
  fail(loc, fmt::format("{}: nested tables are not allowed here", what));
}

RawSection read_section(const toml::table& t, const std::string& name, const std::string& file) {
  RawSection s;
  s.loc = loc_of(t, file);
  for (const auto& [k, node] : t) {
    Loc loc = loc_of_key(k, file);
    std::string key(k.str());
    s.keys[key] = RawValue{to_value(node, loc, fmt::format("[{}] key '{}'", name, key)), loc};
  }
  return s;
}

Path parse_path(const std::string& text, const Loc& loc) {
  auto dot = text.find('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == text.size())
    fail(loc,
         fmt::format("'{}' is not SECTION.KEY (e.g. model.layers or evaluators.0.max_iter)", text));
  Path p;
  p.section = text.substr(0, dot);
  std::string rest = text.substr(dot + 1);
  if (p.section == "evaluators") {
    auto dot2 = rest.find('.');
    if (dot2 == std::string::npos) fail(loc, fmt::format("'{}' is not evaluators.N.KEY", text));
    try {
      p.index = std::stoll(rest.substr(0, dot2));
    } catch (const std::exception&) {
      fail(loc, fmt::format("'{}': evaluator index must be a number", text));
    }
    rest = rest.substr(dot2 + 1);
  } else if (std::find(kTopLevel.begin(), kTopLevel.end(), p.section) == kTopLevel.end() ||
             p.section == "variants" || p.section == "sweep") {
    std::vector<std::string> sections = kPluginSections;
    sections.insert(sections.end(), kHostSections.begin(), kHostSections.end());
    std::string near = closest(p.section, sections);
    fail(loc, fmt::format("unknown section '{}'{}; sections: {}, evaluators.N", p.section,
                          near.empty() ? "" : fmt::format(" (did you mean '{}'?)", near),
                          join(sections, ", ")));
  }
  p.key = rest;
  return p;
}

void apply(RawConfig& cfg, const Path& p, const RawValue& v) {
  if (p.index >= 0) {
    const auto count = static_cast<int64_t>(cfg.evaluators.size());
    // The next index adds an evaluator: a variant can have one the others lack (the
    // BERT variant's mask ensemble). Its `plugin` key must be among those set.
    if (p.index == count) cfg.evaluators.push_back(RawSection{{}, v.loc});
    if (p.index > count)
      fail(v.loc, fmt::format("'{}': there are only {} evaluators (evaluators.{} adds one)",
                              p.str(), count, count));
    cfg.evaluators[p.index].keys[p.key] = v;
  } else {
    auto& s = cfg.sections[p.section];
    if (s.loc.file.empty()) s.loc = v.loc;
    s.keys[p.key] = v;
  }
}

RawValue parse_override(const std::string& text, std::string* path) {
  Loc loc{"", 0, 0, text};
  auto eq = text.find('=');
  if (eq == std::string::npos) fail(loc, "expected SECTION.KEY=VALUE");
  *path = text.substr(0, eq);
  std::string value = text.substr(eq + 1);
  // A TOML value when it parses as one (4, 0.5, true, [1, 2], "s"); otherwise the
  // text itself, so `--set dataset.plugin=mnist` needs no quotes.
  try {
    auto t = toml::parse("v = " + value);
    return RawValue{to_value(*t.get("v"), loc, *path), loc};
  } catch (const toml::parse_error&) {
    return RawValue{value, loc};
  }
}

}  // namespace wb::experiment_file
