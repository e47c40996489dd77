#include "run/evaluator_state.hpp"

#include <filesystem>

#include <fmt/format.h>

#include "platform/log.hpp"
#include "training/evaluator_optimiser.hpp"

namespace wb {

namespace fs = std::filesystem;

namespace {
constexpr const char* kKind = "evaluator_state";
}

EvaluatorState::EvaluatorState(StoreArtifacts& artifacts, std::string hash, torch::Device device,
                               bool bfloat16)
    : artifacts_(artifacts), hash_(std::move(hash)), device_(device), bfloat16_(bfloat16) {}

OptimiserFactory EvaluatorState::factory() {
  return [this](std::vector<torch::Tensor> params, OptimiserSpec spec) {
    if (!lock_) lock_ = artifacts_.lock(kKind, hash_);
    const std::string path =
        (fs::path(artifacts_.dir(kKind, hash_)) / fmt::format("optimiser{}.pt", made_++)).string();
    return std::unique_ptr<Optimiser>(
        std::make_unique<EvaluatorOptimiser>(std::move(params), spec, device_, bfloat16_, path));
  };
}

std::vector<fs::path> EvaluatorState::files() const {
  std::vector<fs::path> out;
  std::error_code ec;  // no folder yet: nothing saved
  for (const auto& entry : fs::directory_iterator(artifacts_.path(kKind, hash_), ec))
    if (entry.path().filename().string().rfind("optimiser", 0) == 0) out.push_back(entry.path());
  return out;
}

bool EvaluatorState::saved() const {
  for (const auto& f : files())
    if (f.extension() == ".pt") return true;
  return false;
}

void EvaluatorState::discard(const std::string& why) {
  const auto saved_files = files();  // the folder's .lock stays
  std::error_code ec;
  for (const auto& f : saved_files) fs::remove(f, ec);
  if (!saved_files.empty())
    log_message(LogLevel::Info, fmt::format("{}: {}", artifacts_.path(kKind, hash_), why));
}

}  // namespace wb
