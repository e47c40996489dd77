#pragma once
// A raw section checked against the schemas that own its keys (the host's first, then
// the plugin's), with defaults filled in: unknown keys, wrong types and values out of
// range are errors naming the file, line and key, with what would fit.
#include <string>
#include <vector>

#include "experiment/toml_reader.hpp"

namespace wb {
class PluginRegistry;
}

namespace wb::experiment_file {

Section resolve(const std::string& name, const RawSection& raw,
                const std::vector<const Schema*>& schemas, const std::string& owner);

// A plugin section ([dataset], [model], [[evaluators]] ...): its `plugin` key found in
// the registry, then its keys against `host_keys` and the plugin's schema.
Section resolve_plugin_section(const std::string& name, const std::string& kind,
                               const RawSection& raw, const PluginRegistry& reg,
                               const Schema& host_keys);

}  // namespace wb::experiment_file
