#pragma once
// Experiment files: TOML in, validated and expanded runs out.
//
//   [experiment]  name, seed, device, threads       (host keys)
//   [dataset]     plugin = "...", resolution, ...   (host keys + the plugin's schema)
//   [quantizer] [model] [objective]                 plugin = "..." + the plugin's schema
//   [training]    steps, batch_size, lr, ...        (host keys)
//   [[evaluators]] plugin = "..." + the plugin's schema, one table per evaluator
//   [variants.NAME.SECTION]  keys that replace the base for the variant NAME
//   [sweep.SECTION]          key = [v1, v2, ...]: one run per combination
//
// Runs = variants x sweep points; --set SECTION.KEY=VALUE overrides come last.
//
// The room, by job: toml_reader (raw values with their file:line:column, dotted
// paths), validate (sections against schemas), run_identity (hashes, canonical text),
// experiment.cpp (variants x sweep expansion, the file).
#include <map>
#include <string>
#include <vector>

#include <workbench/config.hpp>

namespace wb {

class PluginRegistry;

// Host keys of a plugin section (e.g. dataset.resolution), besides `plugin`. The host's
// own sections declare theirs beside their code: run/run_keys.hpp ([experiment], the
// dataset's host keys), training/training_keys.hpp ([training]).
const Schema& host_keys_of(const std::string& section);

struct RunConfig {
  std::string label;  // "ar", "ar model.layers=4", or "default"
  std::map<std::string, Section>
      sections;                     // experiment, dataset, quantizer, model, objective, training
  std::vector<Section> evaluators;  // in file order; each has `plugin`
  std::string canonical;            // the resolved config as TOML, keys sorted
  std::string hash;                 // of everything that determines the results
  std::string pretrain_hash;        // of what determines the pretrained checkpoint
  std::string data_hash;            // of what determines the token arrays
  // Each plugin the run uses (dataset, quantizer, model, objective, evaluators), with
  // its code's identity: recorded per run (the store's run_plugins table).
  struct Plugin {
    std::string kind, name, version, sha256, path;
  };
  std::vector<Plugin> plugins;
  const Section& at(const std::string& name) const { return sections.at(name); }
};

struct Experiment {
  std::string name;
  std::string file;
  std::vector<RunConfig> runs;
};

// Why `name` cannot name an experiment or a variant, or "": empty, a path separator,
// '..', NUL or another control character. An experiment's name becomes a folder of
// reports and samples, so it is checked wherever it comes from (file, --set, CLI).
std::string name_problem(const std::string& name);

// "[header]\nkey = value\n..." with keys sorted: the canonical text of a section.
std::string canonical_section(const std::string& header, const Section& section);

// A run's canonical config without its [experiment] seed line: runs whose configs are
// equal this way differ in their seed alone (tables, reports and the web view group
// them into mean ± std).
std::string config_without_seed(const std::string& canonical);

// Parses, validates and expands `file`. Every error is a wb::Error naming the file,
// line, section and key, and what would fit.
Experiment load_experiment(const std::string& file, const std::vector<std::string>& overrides,
                           const PluginRegistry& registry);
// The same from text (for tests and `--set`-only runs); `file` names it in errors.
Experiment parse_experiment(const std::string& text, const std::string& file,
                            const std::vector<std::string>& overrides,
                            const PluginRegistry& registry);

}  // namespace wb
