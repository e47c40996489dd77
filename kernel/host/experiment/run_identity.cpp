#include "experiment/run_identity.hpp"

#include <fmt/format.h>
#include <torch/cuda.h>

#include <workbench/precision.hpp>

#include "experiment/run_keys.hpp"
#include "experiment/training_keys.hpp"
#include "experiment/validate.hpp"
#include "platform/hash.hpp"
#include "plugins/plugin_registry.hpp"

namespace wb {

namespace experiment_file {

std::string section_text(const std::string& header, const Section& s,
                         const std::vector<std::string>& skip) {
  std::string out = header + "\n";
  for (const auto& [k, v] : s.values())  // std::map: sorted keys
    if (std::find(skip.begin(), skip.end(), k) == skip.end())
      out += fmt::format("{} = {}\n", k, to_text(v));
  return out;
}

namespace {

// What the run computes on: "auto" device and precision resolved on this machine (a
// CUDA device; a CPU whose bfloat16 products are fast). In the pretraining's hash, so a
// checkpoint made in bfloat16 is never reused where the same file now means float32.
std::string compute_text(const std::string& device_name, const std::string& precision) {
  const bool cuda = device_name == "cuda" || (device_name == "auto" && torch::cuda::is_available());
  const torch::Device device = cuda ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
  return fmt::format("# computed on {} in {}\n", cuda ? "cuda" : "cpu",
                     uses_bfloat16(precision, device) ? "bfloat16" : "float32");
}

}  // namespace

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

  // The code of each plugin: its name, version and the SHA-256 of its library (run path
  // blanked: code_identity.hpp), so a rebuilt plugin never reuses what its old code made
  // (an unchanged rebuild or an installed copy keeps its caches). Recorded with the
  // config, as comments.
  auto plugin_code = [&](const std::string& kind, const Section& s) {
    const LoadedPlugin& p = reg.get(kind, s.get_string("plugin"));
    rc.plugins.push_back({kind, p.name(), p.manifest->version, p.sha256, p.path});
    return fmt::format("# {} {} {} sha256:{}\n", kind, p.name(), p.manifest->version, p.sha256);
  };
  const std::string data_code =
      plugin_code("dataset", rc.at("dataset")) + plugin_code("quantizer", rc.at("quantizer"));
  const std::string model_code =
      plugin_code("model", rc.at("model")) + plugin_code("objective", rc.at("objective"));
  const std::string compute = compute_text(rc.at("experiment").get_string("device"),
                                           rc.at("training").get_string("precision"));
  // Keys that do not change any number the run computes stay out of the hash (a CUDA
  // graph replays the eager step's kernels).
  const std::vector<std::string> not_hashed = {"name", "description", "threads", "memory_check"};
  std::string data = section_text("[dataset]", rc.at("dataset")) +
                     section_text("[quantizer]", rc.at("quantizer")) +
                     fmt::format("seed = {}\n", rc.at("experiment").get_int("seed")) + data_code;
  std::string pretrain = data + section_text("[model]", rc.at("model")) +
                         section_text("[objective]", rc.at("objective")) +
                         section_text("[training]", rc.at("training"), {"cuda_graph"}) +
                         fmt::format("device = {}\n", to_text(rc.at("experiment").at("device"))) +
                         compute + model_code;
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
  // Sections one after another, a blank line between.
  rc.canonical = section_text("[experiment]", rc.at("experiment"));
  auto add = [&rc](const std::string& text) { rc.canonical.append("\n").append(text); };
  for (const auto& name : kPluginSections)
    add(section_text(fmt::format("[{}]", name), rc.at(name)));
  add(section_text("[training]", rc.at("training")));
  for (const auto& e : rc.evaluators) add(section_text("[[evaluators]]", e));
  add("# the plugins' code and the compute (in the hashes)\n" + data_code + model_code +
      evals_code + compute);
  return rc;
}

}  // namespace experiment_file

std::string canonical_section(const std::string& header, const Section& section) {
  return experiment_file::section_text(header, section);
}

const Schema& host_keys_of(const std::string& section) {
  static const Schema none;
  return section == "dataset" ? dataset_host_keys() : none;
}

}  // namespace wb
