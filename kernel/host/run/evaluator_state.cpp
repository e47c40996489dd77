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

bool EvaluatorState::saved() const {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(artifacts_.path(kKind, hash_), ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("optimiser", 0) == 0 && entry.path().extension() == ".pt") return true;
  }
  return false;
}

void EvaluatorState::discard(const std::string& why) {
  const fs::path dir = artifacts_.path(kKind, hash_);
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return;
  bool any = false;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().filename().string().rfind("optimiser", 0) != 0) continue;  // .lock stays
    fs::remove(entry.path(), ec);
    any = true;
  }
  if (any) log_message(LogLevel::Info, fmt::format("{}: {}", dir.string(), why));
}

}  // namespace wb
