#pragma once
// One run's configuration from its raw sections: every section validated, the plugins'
// code identified, the hashes that decide what a run may reuse (data, pretraining,
// the whole run) and the canonical text stored with it.
#include <string>
#include <vector>

#include "experiment/experiment.hpp"
#include "experiment/toml_reader.hpp"

namespace wb::experiment_file {

// "[header]\nkey = value\n..." with keys sorted, but `skip`.
std::string section_text(const std::string& header, const Section& s,
                         const std::vector<std::string>& skip = {});

RunConfig resolve_run(const RawConfig& raw, const std::string& default_name,
                      const PluginRegistry& reg);

}  // namespace wb::experiment_file
