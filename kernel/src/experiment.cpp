#include "experiment.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <toml++/toml.h>

#include <workbench/error.hpp>

#include "hash.hpp"
#include "plugin_registry.hpp"
#include "text_match.hpp"

namespace wb {

namespace {

// ---- the host's own schemas ------------------------------------------------------

Schema make_experiment_schema() {
  Schema s;
  s.string("name", "", "experiment name (default: the file's stem)");
  s.string("description", "", "one line about what the experiment tests");
  s.integer("seed", 0, "seed of every random stream of the run (splits, init, data order, masks)")
      .at_least(0);
  s.string("device", "auto", "auto (CUDA when available), cpu or cuda")
      .one_of({"auto", "cpu", "cuda"});
  s.integer("threads", 0, "intra-op CPU threads; 0 = one per core").at_least(0);
  s.boolean("memory_check", true,
            "refuse to train when the estimated memory of a training step exceeds the "
            "machine's available memory (CPU)");
  return s;
}

Schema make_training_schema() {
  Schema s;
  s.integer("steps", 1000, "optimizer steps").at_least(0);
  s.integer("batch_size", 32, "sequences per optimizer step").at_least(1);
  s.integer("accumulate", 1, "micro-batches per step (batch_size is split among them)").at_least(1);
  s.number("lr", 3e-3, "peak learning rate of Adam (beta1 0.9, beta2 0.95, no weight decay)")
      .at_least(0);
  s.integer("warmup_steps", 100, "linear warm-up steps, then the schedule").at_least(0);
  s.string("schedule", "cosine",
           "after warm-up: cosine decay to 0 at `steps`, or constant (then runs that differ only "
           "in steps share their first steps exactly: the checkpoints of one run)")
      .one_of({"cosine", "constant"});
  s.number("warmup_epochs", 0.0,
           "warm-up length in passes over the training set (rounded up to whole steps); "
           "> 0 replaces warmup_steps")
      .at_least(0);
  s.number("grad_clip", 0.0, "clip the global gradient norm to this; 0 = off").at_least(0);
  s.integer("val_every", 200, "validation loss every N steps (and at the end)").at_least(1);
  s.integer("val_batches", 8, "validation batches per evaluation").at_least(1);
  s.integer("checkpoint_every", 200, "write a resumable checkpoint every N steps").at_least(1);
  s.string("precision", "auto",
           "bfloat16 autocast (float32 weights, losses and norms): auto (where the hardware "
           "multiplies bfloat16 natively: CUDA compute capability 8.0+, CPUs with AVX512-BF16 "
           "or AMX), bfloat16 (always), float32 (never)")
      .one_of({"auto", "bfloat16", "float32"});
  s.integer("log_every", 10, "record training metrics every N steps").at_least(1);
  s.integer("early_stop_patience", 0,
            "stop when N validations in a row do not lower the best validation loss; 0 = off")
      .at_least(0);
  s.string("keep", "last",
           "the pretrained checkpoint evaluators get: last (the paper) or best (lowest "
           "validation loss, best.pt)")
      .one_of({"last", "best"});
  return s;
}

Schema make_dataset_host_keys() {
  Schema s;
  s.integer("resolution", 0,
            "input resolution (IR): images are resized to IR x IR with the `resize` "
            "filter; 0 = native size (at most 256: the paper's largest is 64, and 256 is "
            "65,536 tokens per image)")
      .range(0, 256);
  s.string("resize", "area",
           "resize filter: area (averaging, the default), bilinear or bicubic (both "
           "antialiased), nearest")
      .one_of({"area", "bilinear", "bicubic", "nearest"});
  s.boolean("unlabeled", false,
            "also pretrain on the dataset's unlabeled split (stl10); probes never see it");
  s.integer("max_train", 0, "use only the first N training images (0 = all)").at_least(0);
  s.integer("max_eval", 0, "use only the first N validation and test images (0 = all)").at_least(0);
  return s;
}

const std::vector<std::string> kPluginSections = {"dataset", "quantizer", "model", "objective"};
const std::vector<std::string> kHostSections = {"experiment", "training"};
const std::vector<std::string> kTopLevel = {"experiment", "dataset",   "quantizer",
                                            "model",      "objective", "training",
                                            "evaluators", "variants",  "sweep"};

// ---- raw values, with where they were written ----------------------------------------

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

Loc loc_of(const toml::node& n, const std::string& file) {
  const auto& b = n.source().begin;
  return Loc{file, static_cast<int64_t>(b.line), static_cast<int64_t>(b.column), ""};
}

// Errors point at the key, where the reader's eye goes.
Loc loc_of_key(const toml::key& k, const std::string& file) {
  const auto& b = k.source().begin;
  return Loc{file, static_cast<int64_t>(b.line), static_cast<int64_t>(b.column), ""};
}

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

// ---- paths: "model.layers" or "evaluators.0.max_iter" --------------------------------

struct Path {
  std::string section;  // "model", or "evaluators"
  int64_t index = -1;   // evaluator index
  std::string key;
  std::string str() const {
    return index < 0 ? fmt::format("{}.{}", section, key)
                     : fmt::format("{}.{}.{}", section, index, key);
  }
};

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

// ---- validation against schemas ------------------------------------------------------

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
    // nan and inf are valid TOML, but no key of the workbench means anything by them.
    if (!std::isfinite(x))
      fail(loc, fmt::format("[{}] key '{}' = {} is not a finite number", sec, k.name, to_text(v)));
    if ((k.min && x < *k.min) || (k.max && x > *k.max))
      fail(loc, fmt::format("[{}] key '{}' = {} is out of range [{}, {}]", sec, k.name, to_text(v),
                            k.min ? fmt::format("{}", *k.min) : "-inf",
                            k.max ? fmt::format("{}", *k.max) : "inf"));
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

std::string section_text(const std::string& header, const Section& s,
                         const std::vector<std::string>& skip = {}) {
  std::string out = header + "\n";
  for (const auto& [k, v] : s.values())  // std::map: sorted keys
    if (std::find(skip.begin(), skip.end(), k) == skip.end())
      out += fmt::format("{} = {}\n", k, to_text(v));
  return out;
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

RunConfig resolve_run(const RawConfig& raw, const std::string& default_name,
                      const PluginRegistry& reg) {
  RunConfig rc;
  auto raw_of = [&](const std::string& name) {
    auto it = raw.sections.find(name);
    return it == raw.sections.end() ? RawSection{} : it->second;
  };
  for (const auto& name : kHostSections) {
    const Schema& schema = name == "experiment" ? experiment_schema() : training_schema();
    rc.sections[name] = resolve(name, raw_of(name), {&schema}, "");
  }
  if (rc.sections["experiment"].get_string("name").empty()) {
    auto values = rc.sections["experiment"].values();
    values["name"] = default_name;
    rc.sections["experiment"] = Section("experiment", values);
  }
  for (const auto& name : kPluginSections) {
    RawSection r = raw_of(name);
    if (r.loc.file.empty()) r.loc.file = default_name;
    rc.sections[name] = resolve_plugin_section(name, name, r, reg, host_keys_of(name));
  }
  for (size_t i = 0; i < raw.evaluators.size(); ++i)
    rc.evaluators.push_back(resolve_plugin_section(fmt::format("evaluators.{}", i), "evaluator",
                                                   raw.evaluators[i], reg,
                                                   host_keys_of("evaluator")));

  // The code of each plugin: its name, version and the SHA-256 of its library, so a
  // rebuilt plugin never reuses what its old code made (an unchanged rebuild keeps its
  // caches: the build is reproducible). Recorded with the config, as comments.
  auto plugin_code = [&](const std::string& kind, const Section& s) {
    const LoadedPlugin& p = reg.get(kind, s.get_string("plugin"));
    rc.plugins.push_back({kind, p.name(), p.manifest->version, p.sha256, p.path});
    return fmt::format("# {} {} {} sha256:{}\n", kind, p.name(), p.manifest->version, p.sha256);
  };
  const std::string data_code =
      plugin_code("dataset", rc.at("dataset")) + plugin_code("quantizer", rc.at("quantizer"));
  const std::string model_code =
      plugin_code("model", rc.at("model")) + plugin_code("objective", rc.at("objective"));
  // Keys that do not change any number the run computes stay out of the hash.
  const std::vector<std::string> not_hashed = {"name", "description", "threads", "memory_check"};
  std::string data = section_text("[dataset]", rc.at("dataset")) +
                     section_text("[quantizer]", rc.at("quantizer")) +
                     fmt::format("seed = {}\n", rc.at("experiment").get_int("seed")) + data_code;
  std::string pretrain = data + section_text("[model]", rc.at("model")) +
                         section_text("[objective]", rc.at("objective")) +
                         section_text("[training]", rc.at("training")) +
                         fmt::format("device = {}\n", to_text(rc.at("experiment").at("device"))) +
                         model_code;
  std::string evals, evals_code;
  for (const auto& e : rc.evaluators) {
    const std::string code = plugin_code("evaluator", e);
    evals += section_text("[[evaluators]]", e) + code;
    evals_code += code;
  }
  rc.data_hash = short_hash(data);
  rc.pretrain_hash = short_hash(pretrain);
  rc.hash =
      short_hash(section_text("[experiment]", rc.at("experiment"), not_hashed) + pretrain + evals);
  rc.canonical = section_text("[experiment]", rc.at("experiment"));
  for (const auto& name : kPluginSections)
    rc.canonical += "\n" + section_text("[" + name + "]", rc.at(name));
  rc.canonical += "\n" + section_text("[training]", rc.at("training"));
  for (const auto& e : rc.evaluators) rc.canonical += "\n" + section_text("[[evaluators]]", e);
  rc.canonical += "\n# the plugins' code (in the hashes)\n" + data_code + model_code + evals_code;
  return rc;
}

}  // namespace

std::string canonical_section(const std::string& header, const Section& section) {
  return section_text(header, section);
}

const Schema& experiment_schema() {
  static const Schema s = make_experiment_schema();
  return s;
}
const Schema& training_schema() {
  static const Schema s = make_training_schema();
  return s;
}
const Schema& host_keys_of(const std::string& section) {
  static const Schema dataset = make_dataset_host_keys();
  static const Schema none;
  return section == "dataset" ? dataset : none;
}

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
      exp.runs.push_back(std::move(rc));
    }
  }
  exp.name = exp.runs.front().at("experiment").get_string("name");
  return exp;
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
