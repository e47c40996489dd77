#include "training/evaluator_optimiser.hpp"

#include <cmath>
#include <filesystem>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/serialize.h>

#include <workbench/atomic_file.hpp>
#include <workbench/checked_file.hpp>
#include <workbench/error.hpp>
#include <workbench/precision.hpp>
#include <workbench/schedule.hpp>

#include "platform/log.hpp"
#include "plugins/plugin_guard.hpp"

namespace wb {

namespace fs = std::filesystem;

EvaluatorOptimiser::EvaluatorOptimiser(std::vector<torch::Tensor> params, OptimiserSpec spec,
                                       torch::Device device, bool bfloat16, std::string state_path)
    : spec_(spec),
      device_(device),
      bfloat16_(bfloat16),
      path_(std::move(state_path)),
      adam_(std::move(params), spec.grad_clip) {}

double EvaluatorOptimiser::step(const std::function<torch::Tensor()>& loss_of) {
  const double lr =
      learning_rate(spec_.lr, steps_, spec_.warmup_steps, spec_.total_steps, spec_.cosine);
  adam_.begin(lr);
  torch::Tensor loss;
  {
    BfloatAutocast autocast(device_, bfloat16_);  // the forward; backward follows it
    loss = loss_of();
  }
  loss.backward();
  const double value = loss.item<double>();
  if (!std::isfinite(value))
    throw Error(fmt::format("the loss is {} at step {}: training diverged (lower the rate?)", value,
                            steps_));
  adam_.update();
  lr_ = lr;
  ++steps_;
  return value;
}

// One archive: "params" (the trained tensors by position), "adam", "steps", "lr", and
// "state" with its names apart ("names", a list), since an archive's keys may not hold
// every character a name may.
void EvaluatorOptimiser::save(const TrainingState& state) {
  torch::serialize::OutputArchive ar, params_ar, adam_ar, state_ar;
  const auto& params = adam_.params();
  for (size_t i = 0; i < params.size(); ++i) params_ar.write(std::to_string(i), params[i].detach());
  adam_.save(adam_ar);
  c10::List<std::string> names;
  for (const auto& [name, value] : state) {
    state_ar.write(std::to_string(names.size()), value.detach());
    names.push_back(name);
  }
  ar.write("params", params_ar);
  ar.write("adam", adam_ar);
  ar.write("state", state_ar);
  ar.write("names", names);
  ar.write("steps", torch::tensor(steps_, torch::kLong));
  ar.write("lr", torch::tensor(lr_, torch::kDouble));
  fs::create_directories(fs::path(path_).parent_path());
  write_checked(path_, [&](const std::string& tmp) { save_archive(ar, tmp); });
}

bool EvaluatorOptimiser::resume(TrainingState* state) {
  // None, or one that does not match its record (removed, with a warning): start over.
  if (!reuse_checked(path_, [](const std::string& why) { log_message(LogLevel::Warn, why); }))
    return false;
  const auto& params = adam_.params();
  try {
    torch::serialize::InputArchive ar, params_ar, adam_ar, state_ar;
    ar.load_from(path_, device_);
    ar.read("params", params_ar);
    ar.read("adam", adam_ar);
    ar.read("state", state_ar);
    c10::IValue names;
    ar.read("names", names);
    torch::Tensor steps, lr;
    ar.read("steps", steps);
    ar.read("lr", lr);
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < params.size(); ++i) {
      torch::Tensor saved;
      params_ar.read(std::to_string(i), saved);
      if (!saved.sizes().equals(params[i].sizes()))
        throw Error(fmt::format("tensor {} has shape {}, the trained one {}", i,
                                fmt::join(saved.sizes(), "x"), fmt::join(params[i].sizes(), "x")));
      params[i].copy_(saved);
    }
    adam_.load(adam_ar);
    state->clear();
    const auto list = names.toListRef();
    for (size_t i = 0; i < list.size(); ++i) {
      torch::Tensor value;
      state_ar.read(std::to_string(i), value);
      (*state)[list[i].toStringRef()] = value;
    }
    steps_ = steps.item<int64_t>();
    lr_ = lr.item<double>();
  } catch (...) {
    throw Error(fmt::format("{}: cannot resume from it ({}); delete it to start over", path_,
                            current_exception_message()));
  }
  return true;
}

}  // namespace wb
