#include "run/feature_cache.hpp"

#include <ATen/CPUGeneratorImpl.h>

#include <filesystem>

#include <fmt/format.h>
#include <torch/serialize.h>
#include <workbench/atomic_file.hpp>
#include <workbench/checked_file.hpp>
#include <workbench/error.hpp>
#include <workbench/precision.hpp>

#include "platform/hash.hpp"
#include "platform/interrupt.hpp"
#include "platform/log.hpp"
#include "platform/progress.hpp"

namespace wb {

namespace {

const std::vector<std::string> kSplits = {"train", "val", "test"};

// Bump when what a cached file holds for a key changes meaning (its mask draw, its
// layout), so that no run reads an old file as a new one. 2: masks drawn per split
// from mask_generator (1 was one generator across the splits, per evaluator library).
constexpr int kFeaturesVersion = 2;

}  // namespace

FeatureCache::FeatureCache(Model& model, const Objective& objective,
                           const std::map<std::string, TokenSplit>& splits,
                           std::string checkpoint_key, torch::Device device, bool bfloat16,
                           ArtifactCache& artifacts, std::function<void(const std::string&)> forget)
    : model_(model),
      objective_(objective),
      splits_(splits),
      checkpoint_key_(std::move(checkpoint_key)),
      device_(device),
      bfloat16_(bfloat16),
      artifacts_(artifacts),
      forget_(std::move(forget)) {}

std::string FeatureCache::key(int64_t grid) const {
  return short_hash(fmt::format("{}\nfeatures v{}: pooled over a {}x{} grid, {}, masks per split",
                                checkpoint_key_, kFeaturesVersion, grid, grid,
                                bfloat16_ ? "bfloat16" : "float32"));
}

torch::Generator FeatureCache::mask_generator(const std::string& split) const {
  // The same derivation as a plugin's seeds, from the checkpoint rather than the run's
  // seed: the checkpoint's key already holds the seed it was trained with.
  return torch::make_generator<at::CPUGeneratorImpl>(
      seed_of(fmt::format("{}/masks/{}", checkpoint_key_, split)));
}

LayerFeatures FeatureCache::pass(const torch::Tensor& tokens, torch::Generator& gen,
                                 int64_t batch_size, Progress& progress, int64_t grid) {
  if (batch_size < 1) throw Error(fmt::format("features: a batch size of {}", batch_size));
  // Inference mode, not just no-grad: no autograd bookkeeping (version counters, views)
  // on any tensor of the pass.
  c10::InferenceMode inference;
  model_.module().eval();
  const int64_t layers = model_.num_layers() + 1;
  std::vector<std::vector<torch::Tensor>> parts(layers);
  for (int64_t i = 0; i < tokens.size(0); i += batch_size) {
    auto x = tokens.slice(0, i, std::min(tokens.size(0), i + batch_size)).to(device_);
    // The objective's view (causal, masked); its targets and weights are not needed.
    auto view = objective_.prepare(x, gen).input;
    BfloatAutocast autocast(device_, bfloat16_);  // as pretraining ran
    auto out = model_.forward(view, FeatureRequest{true, grid});
    for (int64_t l = 0; l < layers; ++l)
      parts[l].push_back(out.features[l].to(torch::kCPU, torch::kFloat32));
    progress.advance(x.size(0));
    if (interrupted()) return {};  // the host records the run as interrupted
  }
  LayerFeatures out;
  for (int64_t l = 0; l < layers; ++l)
    out.push_back(parts[l].empty() ? torch::zeros({0, 0}) : torch::cat(parts[l]));
  return out;
}

SplitFeatures FeatureCache::pooled(int64_t grid, int64_t batch_size) {
  if (auto it = memo_.find(grid); it != memo_.end()) {
    log_message(LogLevel::Info, fmt::format("features: those an earlier evaluator of this run "
                                            "read (key {})",
                                            key(grid)));
    return it->second;
  }
  const std::string k = key(grid);
  if (forget_) forget_(k);
  // Another run extracting the same features waits here, then reuses them.
  const auto held = artifacts_.lock("features", k);
  const std::string path =
      (std::filesystem::path(artifacts_.dir("features", k)) / "pooled_features.pt").string();
  const int64_t layers = model_.num_layers() + 1;
  SplitFeatures out;
  // Reused only when the file matches its checksum record; a damaged one is removed
  // (with a warning) and the features are extracted again.
  if (reuse_checked(path,
                    [](const std::string& m) { log_message(LogLevel::Warn, "features: " + m); })) {
    try {
      torch::serialize::InputArchive ar;
      ar.load_from(path);
      for (const auto& s : kSplits)
        for (int64_t l = 0; l < layers; ++l) {
          torch::Tensor t;
          ar.read(fmt::format("{}_{}", s, l), t);
          out[s].push_back(t);
        }
    } catch (const std::exception& e) {
      throw Error(fmt::format("{}: cannot read the cached features: {}", path, message_of(e)));
    }
    log_message(LogLevel::Info, fmt::format("features: reusing {}", path));
  } else {
    int64_t total = 0;
    for (const auto& s : kSplits) total += splits_.at(s).tokens.size(0);
    log_message(LogLevel::Info,
                fmt::format("features: extracting every layer's, pooled over a {}x{} grid, of {} "
                            "images (key {})",
                            grid, grid, total, k));
    auto progress = make_progress("features", total);
    for (const auto& s : kSplits) {
      auto gen = mask_generator(s);
      out[s] = pass(splits_.at(s).tokens, gen, batch_size, *progress, grid);
      if (out[s].empty()) return {};  // stopped by the user
      ++split_passes_;
    }
    progress->finish();
    torch::serialize::OutputArchive ar;
    for (const auto& s : kSplits)
      for (int64_t l = 0; l < layers; ++l) ar.write(fmt::format("{}_{}", s, l), out[s][l]);
    // Renamed when whole: a killed run never leaves half a file.
    write_checked(path, [&](const std::string& tmp) { save_archive(ar, tmp); });
  }
  artifacts_.record("features", k, path);
  memo_[grid] = out;
  return out;
}

}  // namespace wb
