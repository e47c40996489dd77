#pragma once
// Errors from inside a plugin, reported as that plugin's: "objective 'denoise' in
// loss(): index out of range in self". LibTorch's exceptions carry C++ stack frames
// in what(); a user never reads them (they go to the debug log, WORKBENCH_LOG=debug).
#include <exception>
#include <memory>
#include <string>
#include <utility>

#include <workbench/model.hpp>
#include <workbench/objective.hpp>

namespace wb {

// An exception's message as a user reads it: LibTorch's without its stack frames.
std::string user_message(const std::exception& e);
// Inside a catch block: the message of the exception in flight, whatever its type.
std::string current_exception_message();

// Inside a catch block: rethrows the exception in flight as a wb::Error naming the
// plugin (`who`, e.g. "model 'igpt'") and the call.
[[noreturn]] void rethrow_from_plugin(const std::string& who, const char* call);

// Runs f(), a call into plugin code, with its errors named after the plugin.
template <class F>
auto guarded(const std::string& who, const char* call, F&& f) -> decltype(f()) {
  try {
    return std::forward<F>(f)();
  } catch (...) {
    rethrow_from_plugin(who, call);
  }
}

// A model or objective whose every call is guarded; the runner hands these to the
// trainer and the evaluators, so any error from inside names its plugin. The
// objective's batches are checked too: shapes at every call, token ranges against
// `data`'s palette at the first (a value check costs a device synchronisation).
std::shared_ptr<Model> guard(std::shared_ptr<Model> model, const std::string& name);
std::shared_ptr<Objective> guard(std::shared_ptr<Objective> objective, const std::string& name,
                                 const DataFacts& data);

// Why `batch`, prepared from `tokens` (N, S), cannot be trained on, or "".
// check_values: also that its tokens and targets lie in [0, vocab_size).
std::string batch_problem(const TrainingBatch& batch, const torch::Tensor& tokens,
                          int64_t vocab_size, bool check_values);

}  // namespace wb
