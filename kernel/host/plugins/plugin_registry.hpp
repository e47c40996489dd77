#pragma once
// Finds, checks and loads plugin libraries (Boost.DLL), and makes plugin objects
// that keep their library loaded for as long as they live.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/dll/shared_library.hpp>

#include <workbench/error.hpp>
#include <workbench/plugin.hpp>

namespace wb {

struct LoadedPlugin {
  std::shared_ptr<boost::dll::shared_library> library;
  const Manifest* manifest = nullptr;
  std::string path;
  std::string sha256;  // of the library's code (code_sha256: not its run path), for cache keys
  Schema schema;
  std::string kind() const { return manifest->kind; }
  std::string name() const { return manifest->name; }
};

// A library the registry would not load, and why.
struct RefusedPlugin {
  std::string path;
  std::string name;  // empty when the manifest could not be read
  std::string reason;
};

class PluginRegistry {
 public:
  // The folders searched, in order: WORKBENCH_PLUGIN_PATH (':'-separated), then the
  // plugin folder of the install tree beside the binary, else the build tree's.
  static std::vector<std::string> default_search_path();

  // Scans every folder for lib*.so; bad libraries are refused, not fatal.
  void scan(const std::vector<std::string>& folders);
  // Checks and adds one library; returns false (and records why) if refused.
  bool load(const std::string& path);

  const std::vector<LoadedPlugin>& plugins() const { return plugins_; }
  const std::vector<RefusedPlugin>& refused() const { return refused_; }

  // The plugin of that kind and name, or a wb::Error that says why not: unknown
  // (with the names that exist), refused (with the reason), of another kind.
  const LoadedPlugin& get(const std::string& kind, const std::string& name) const;
  std::vector<std::string> names(const std::string& kind) const;

  // A new plugin object; it holds its library, so no object outlives its code.
  template <class T>
  std::shared_ptr<T> create(const std::string& name, PluginContext& context) const {
    const LoadedPlugin& p = get(kind_name<T>(), name);
    Plugin* raw = p.manifest->create(context);
    // The manifest's kind was checked, and WB_PLUGIN static_asserts the class derives
    // from that kind, so the downcast is exact.
    auto lib = p.library;
    return std::shared_ptr<T>(static_cast<T*>(raw), [lib](T* obj) { delete obj; });
  }

 private:
  std::vector<LoadedPlugin> plugins_;
  std::vector<RefusedPlugin> refused_;
};

}  // namespace wb
