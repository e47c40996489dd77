#pragma once
// An experiment file read into raw values that remember where they were written (file,
// line and column, or the `--set` that gave them), and the dotted paths ("model.layers",
// "evaluators.0.max_iter") that variants, sweeps and --set address them by. Internal to
// the experiment room: experiment.hpp is its interface.
#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <toml++/toml.h>

#include <workbench/config.hpp>

namespace wb::experiment_file {

const std::vector<std::string> kPluginSections = {"dataset", "quantizer", "model", "objective"};
const std::vector<std::string> kHostSections = {"experiment", "training"};
const std::vector<std::string> kTopLevel = {"experiment", "dataset",   "quantizer",
                                            "model",      "objective", "training",
                                            "evaluators", "variants",  "sweep"};

struct Loc {
  std::string file;
  int64_t line = 0, column = 0;
  std::string text;  // for --set: the override as typed
  std::string str() const {
    if (!text.empty()) return fmt::format("--set {}", text);
    if (line == 0) return file;
    return fmt::format("{}:{}:{}", file, line, column);
  }
};

struct RawValue {
  Value value;
  Loc loc;
};
struct RawSection {
  std::map<std::string, RawValue> keys;
  Loc loc;
};
struct RawConfig {
  std::map<std::string, RawSection> sections;
  std::vector<RawSection> evaluators;
};

Loc loc_of(const toml::node& n, const std::string& file);
// Errors point at the key, where the reader's eye goes.
Loc loc_of_key(const toml::key& k, const std::string& file);
// toml++ tables iterate in key order; variants and sweep keys run in file order.
template <class T>
std::vector<std::pair<toml::key, const toml::node*>> in_file_order(const T& table) {
  std::vector<std::pair<toml::key, const toml::node*>> out;
  for (const auto& [k, node] : table) out.push_back({k, &node});
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    const auto &pa = a.first.source().begin, &pb = b.first.source().begin;
    return pa.line != pb.line ? pa.line < pb.line : pa.column < pb.column;
  });
  return out;
}

// Throws wb::Error "<where>: <msg>".
[[noreturn]] void fail(const Loc& loc, const std::string& msg);

// A TOML value as a config Value: booleans, numbers, strings, lists of one kind.
Value to_value(const toml::node& n, const Loc& loc, const std::string& what);
RawSection read_section(const toml::table& t, const std::string& name, const std::string& file);

struct Path {
  std::string section;  // "model", or "evaluators"
  int64_t index = -1;   // evaluator index
  std::string key;
  std::string str() const {
    return index < 0 ? fmt::format("{}.{}", section, key)
                     : fmt::format("{}.{}.{}", section, index, key);
  }
};

Path parse_path(const std::string& text, const Loc& loc);
// Sets `p` in `cfg`; the next evaluator index adds an evaluator.
void apply(RawConfig& cfg, const Path& p, const RawValue& v);
// Reads `[variants.NAME]` or `[sweep]`: nested section tables or quoted dotted keys.
// Calls f(path, node, loc) for each leaf.
template <class F>
void for_each_path(const toml::table& t, const std::string& file, const std::string& where, F f) {
  for (const auto& [k, nodep] : in_file_order(t)) {
    const toml::node& node = *nodep;
    std::string key(k.str());
    Loc loc = loc_of_key(k, file);
    if (auto sub = node.as_table()) {
      for (const auto& [k2, node2] : in_file_order(*sub)) {
        Loc l2 = loc_of_key(k2, file);
        f(parse_path(key + "." + std::string(k2.str()), l2), *node2, l2);
      }
    } else {
      if (key.find('.') == std::string::npos)
        fail(loc,
             fmt::format("[{}] '{}' must be a section table or a \"section.key\"", where, key));
      f(parse_path(key, loc), node, loc);
    }
  }
}

// "SECTION.KEY=VALUE" from --set: the value as TOML where it parses, else as text.
RawValue parse_override(const std::string& text, std::string* path);

}  // namespace wb::experiment_file
