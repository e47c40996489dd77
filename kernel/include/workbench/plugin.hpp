#pragma once
// The plugin ABI: one exported C symbol per library, `workbench_plugin_manifest`,
// pointing at a Manifest. The host reads `abi_version` first and refuses the library
// before touching any other field when it differs, so the first two fields never move.
#include <cstdint>
#include <type_traits>

#include <torch/version.h>
#include <boost/dll/alias.hpp>

#include <workbench/config.hpp>
#include <workbench/context.hpp>
#include <workbench/export.hpp>

// Bump when any SDK type a plugin sees changes layout or meaning.
// 5: objectives return a TrainingBatch (targets, weights) and tensor metrics;
//    PluginContext::data(); Quantizer::channels(); features asked through FeatureRequest.
// 6: evaluators get the run's FeatureService (EvalInputs::features) and a copy of the
//    model of their own (EvalInputs::model_copy).
// 7: evaluators that train step through the host's Optimiser (EvalInputs::optimiser);
//    wb::Float32Scope.
#define WB_ABI_VERSION 7

// A plugin may claim another ABI only in the loader's own tests.
#ifndef WB_PLUGIN_ABI_VERSION
#define WB_PLUGIN_ABI_VERSION WB_ABI_VERSION
#endif

namespace wb {

// Base of every plugin object; deleting through it runs the plugin's own destructor.
class WB_API Plugin {
 public:
  virtual ~Plugin();
};

extern "C" {
struct Manifest {
  uint32_t abi_version;       // WB_ABI_VERSION of the SDK the plugin was built with
  const char* torch_version;  // TORCH_VERSION of the LibTorch it was built with
  const char* kind;           // "dataset", "quantizer", "model", "objective", "evaluator"
  const char* name;           // unique among loaded plugins; the experiment file uses it
  const char* version;
  const char* description;  // one line, for `workbench plugins`
  void (*declare)(Schema& schema);
  Plugin* (*create)(PluginContext& context);
};
}

template <class Kind>
constexpr const char* kind_name();

}  // namespace wb

// Registers CLASS (deriving from wb::KIND, with a constructor taking wb::PluginContext&
// and `static void declare(wb::Schema&)`) as the one plugin of this library.
//   WB_PLUGIN(Objective, "ar", "1.0.0", "next-pixel prediction", ArObjective)
#define WB_PLUGIN(KIND, NAME, VERSION, DESCRIPTION, CLASS)                                         \
  static_assert(std::is_base_of<::wb::KIND, CLASS>::value, #CLASS " must derive from wb::" #KIND); \
  namespace {                                                                                      \
  ::wb::Plugin* wb_plugin_create(::wb::PluginContext& c) {                                         \
    return new CLASS(c);                                                                           \
  }                                                                                                \
  void wb_plugin_declare(::wb::Schema& s) {                                                        \
    CLASS::declare(s);                                                                             \
  }                                                                                                \
  const ::wb::Manifest wb_plugin_manifest = {WB_PLUGIN_ABI_VERSION,                                \
                                             TORCH_VERSION,                                        \
                                             ::wb::kind_name<::wb::KIND>(),                        \
                                             NAME,                                                 \
                                             VERSION,                                              \
                                             DESCRIPTION,                                          \
                                             &wb_plugin_declare,                                   \
                                             &wb_plugin_create};                                   \
  }                                                                                                \
  BOOST_DLL_ALIAS(wb_plugin_manifest, workbench_plugin_manifest)
