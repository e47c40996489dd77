#include "plugins/plugin_registry.hpp"

#include <dlfcn.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>
#include <boost/dll/runtime_symbol_info.hpp>

#include "platform/hash.hpp"
#include "platform/text_match.hpp"
#include "plugins/code_identity.hpp"
#include "plugins/elf_check.hpp"

#ifndef WB_INSTALL_PLUGIN_DIR
#define WB_INSTALL_PLUGIN_DIR "lib/workbench/plugins"
#endif

namespace fs = std::filesystem;

namespace wb {

namespace {
const char* const kManifestSymbol = "workbench_plugin_manifest";
const std::vector<std::string> kKinds = {"dataset", "quantizer", "model", "objective", "evaluator"};
}  // namespace

std::vector<std::string> PluginRegistry::default_search_path() {
  std::vector<std::string> out;
  if (const char* env = std::getenv("WORKBENCH_PLUGIN_PATH")) {
    std::string s = env;
    size_t start = 0;
    while (start <= s.size()) {
      size_t end = s.find(':', start);
      if (end == std::string::npos) end = s.size();
      if (end > start) out.push_back(s.substr(start, end - start));
      start = end + 1;
    }
  }
  // A binary in PREFIX/bin finds its plugins in PREFIX/lib/workbench/plugins: installed,
  // and in the build tree, which has the same layout (build/bin, build/tests ->
  // build/lib/workbench/plugins). No build path is compiled in.
  fs::path exe_dir = boost::dll::program_location().parent_path().string();
  fs::path installed = exe_dir.parent_path() / WB_INSTALL_PLUGIN_DIR;
  if (fs::is_directory(installed)) out.push_back(installed.string());
  return out;
}

void PluginRegistry::scan(const std::vector<std::string>& folders) {
  std::vector<fs::path> seen;
  for (const auto& folder : folders) {
    std::error_code ec;
    if (!fs::is_directory(folder, ec)) continue;
    std::vector<fs::path> libs;
    for (const auto& entry : fs::directory_iterator(folder, ec)) {
      const auto name = entry.path().filename().string();
      if (entry.is_regular_file() && name.rfind("lib", 0) == 0 && entry.path().extension() == ".so")
        libs.push_back(entry.path());
    }
    std::sort(libs.begin(), libs.end());  // a stable order: the same refusals every time
    for (const auto& lib : libs) {
      fs::path canon = fs::weakly_canonical(lib, ec);
      if (std::find(seen.begin(), seen.end(), canon) != seen.end()) continue;
      seen.push_back(canon);
      load(lib.string());
    }
  }
}

bool PluginRegistry::load(const std::string& path) {
  auto refuse = [&](const std::string& name, const std::string& reason) {
    refused_.push_back({path, name, reason});
    return false;
  };
  // Checked before dlopen: a truncated library would kill the process inside it.
  if (const std::string problem = elf_problem(path); !problem.empty()) return refuse("", problem);
  auto lib = std::make_shared<boost::dll::shared_library>();
  boost::dll::fs::error_code ec;
  lib->load(path, boost::dll::load_mode::rtld_lazy | boost::dll::load_mode::rtld_local, ec);
  if (ec) {
    // Boost.DLL reports errno ("Bad file descriptor"); the loader's own words say
    // which library or symbol was missing.
    std::string why = ec.message();
    if (void* h = ::dlopen(path.c_str(), RTLD_LAZY | RTLD_LOCAL))
      ::dlclose(h);
    else if (const char* e = ::dlerror())
      why = e;
    // libworkbench's SOVERSION is the ABI: a plugin of another SDK asks for another one.
    if (why.find("libworkbench.so") != std::string::npos)
      return refuse("", fmt::format("was built against another plugin SDK ({}); this workbench "
                                    "has ABI {}: rebuild the plugin against this SDK",
                                    why, WB_ABI_VERSION));
    return refuse("", fmt::format("cannot be loaded: {}", why));
  }
  if (!lib->has(kManifestSymbol))
    return refuse("", fmt::format("is not a workbench plugin: it exports no '{}' symbol "
                                  "(register the plugin with WB_PLUGIN)",
                                  kManifestSymbol));
  const Manifest& m = lib->get_alias<const Manifest>(kManifestSymbol);
  // abi_version is the only field that is safe to read before it is checked.
  if (m.abi_version != WB_ABI_VERSION)
    return refuse("", fmt::format("was built against plugin SDK ABI {}, this workbench has ABI "
                                  "{}: rebuild the plugin against this SDK",
                                  m.abi_version, WB_ABI_VERSION));
  if (std::string(m.torch_version) != TORCH_VERSION)
    return refuse(m.name, fmt::format("was built against LibTorch {}, this workbench uses "
                                      "LibTorch {}: rebuild the plugin against this SDK",
                                      m.torch_version, TORCH_VERSION));
  if (std::find(kKinds.begin(), kKinds.end(), std::string(m.kind)) == kKinds.end())
    return refuse(m.name, fmt::format("declares unknown kind '{}'", m.kind));
  for (const auto& p : plugins_) {
    if (p.name() == m.name)
      return refuse(m.name, fmt::format("is a second plugin named '{}'; the first is {}. "
                                        "Remove one of them from the plugin path",
                                        m.name, p.path));
  }
  LoadedPlugin p;
  p.library = lib;
  p.manifest = &m;
  p.path = path;
  p.sha256 = code_sha256(path);  // the code: unchanged by install (code_identity.hpp)
  try {
    m.declare(p.schema);
  } catch (const std::exception& e) {
    return refuse(m.name, fmt::format("declares a bad config schema: {}", e.what()));
  }
  plugins_.push_back(std::move(p));
  return true;
}

std::vector<std::string> PluginRegistry::names(const std::string& kind) const {
  std::vector<std::string> out;
  for (const auto& p : plugins_)
    if (p.kind() == kind) out.push_back(p.name());
  return out;
}

const LoadedPlugin& PluginRegistry::get(const std::string& kind, const std::string& name) const {
  for (const auto& r : refused_) {
    if (r.name == name)
      throw Error(fmt::format("{} plugin '{}' was refused: {} {}", kind, name, r.path, r.reason));
  }
  for (const auto& p : plugins_) {
    if (p.name() != name) continue;
    if (p.kind() != kind)
      throw Error(fmt::format("plugin '{}' is a {}, not a {}", name, p.kind(), kind));
    return p;
  }
  std::string msg = fmt::format("unknown {} plugin '{}'", kind, name);
  auto known = names(kind);
  if (auto near = closest(name, known); !near.empty())
    msg += fmt::format("; did you mean '{}'?", near);
  msg += fmt::format(" Available {}s: {}", kind, known.empty() ? "(none)" : join(known, ", "));
  // A refused library whose manifest could not be read may be the one meant.
  for (const auto& r : refused_)
    if (r.name.empty()) msg += fmt::format("\n  note: {} {}", r.path, r.reason);
  throw Error(msg);
}

}  // namespace wb
