// Experiment files and --set overrides: the input's first line is one override
// (SECTION.KEY=VALUE), the rest the file. Any bytes end in runs or in a wb::Error naming
// the file or the override. No plugins are loaded, so plugin sections stop at "unknown
// plugin" (their keys are validated by the same code as the host's).
#include <experiment/experiment.hpp>
#include <plugins/plugin_registry.hpp>
#include <workbench/error.hpp>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const wb::PluginRegistry no_plugins;
  const std::string all(reinterpret_cast<const char*>(data), size);
  const auto newline = all.find('\n');
  std::vector<std::string> sets;
  if (newline != std::string::npos && newline > 0) sets.push_back(all.substr(0, newline));
  const std::string text = newline == std::string::npos ? all : all.substr(newline + 1);
  try {
    wb::parse_experiment(text, "fuzz.toml", sets, no_plugins);
  } catch (const wb::Error&) {
  }
  return 0;
}
