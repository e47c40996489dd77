#include "pooled_features.hpp"

#include <ATen/CPUGeneratorImpl.h>

#include <filesystem>

#include <fmt/format.h>
#include <torch/serialize.h>
#include <workbench/atomic_file.hpp>
#include <workbench/checked_file.hpp>
#include <workbench/error.hpp>
#include <workbench/precision.hpp>

namespace probe {

namespace {

const std::vector<std::string> kSplits = {"train", "val", "test"};

// FNV-1a: a seed from the checkpoint key that is the same on every platform and build.
uint64_t key_seed(const std::string& key) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : key) h = (h ^ c) * 1099511628211ull;
  return h >> 1;  // 63 bits, as the host's seeds
}

}  // namespace

std::vector<torch::Tensor> pooled_features(const wb::EvalInputs& in, const torch::Tensor& tokens,
                                           torch::Generator& gen, int64_t batch_size,
                                           const wb::PluginContext& ctx, wb::Progress& progress,
                                           int64_t grid) {
  // Inference mode, not just no-grad: no autograd bookkeeping (version counters, views)
  // on any tensor of the pass.
  c10::InferenceMode inference;
  in.model->module().eval();
  const int64_t layers = in.model->num_layers() + 1;
  std::vector<std::vector<torch::Tensor>> parts(layers);
  for (int64_t i = 0; i < tokens.size(0); i += batch_size) {
    auto x = tokens.slice(0, i, std::min(tokens.size(0), i + batch_size)).to(ctx.device());
    // The objective's view (causal, masked); its targets and weights are not needed.
    auto view = in.objective->prepare(x, gen).input;
    wb::BfloatAutocast autocast(ctx.device(), in.bfloat16);  // as pretraining ran
    auto fout = in.model->forward(view, wb::FeatureRequest{true, grid});
    for (int64_t l = 0; l < layers; ++l)
      parts[l].push_back(fout.features[l].to(torch::kCPU, torch::kFloat32));
    progress.advance(x.size(0));
    if (ctx.stop_requested()) return {};  // the host records the run as interrupted
  }
  std::vector<torch::Tensor> out;
  for (int64_t l = 0; l < layers; ++l) out.push_back(torch::cat(parts[l]));
  return out;
}

SplitFeatures shared_pooled_features(const wb::EvalInputs& in, int64_t batch_size,
                                     const wb::PluginContext& ctx, int64_t grid) {
  SplitFeatures out;
  // The global means keep the name they always had, so existing caches stay valid.
  const std::string file =
      grid == 1 ? "pooled_features.pt" : fmt::format("pooled_features_grid{}.pt", grid);
  // Another run extracting the same features waits here, then reuses them.
  const auto held = ctx.artifacts().lock("features", in.cache_key);
  const std::string path =
      (std::filesystem::path(ctx.artifacts().dir("features", in.cache_key)) / file).string();
  const int64_t layers = in.model->num_layers() + 1;
  // Reused only when the file matches its checksum record; a damaged one is removed
  // (with a warning) and the features are extracted again.
  if (wb::reuse_checked(path, [&](const std::string& m) { ctx.warn("features: {}", m); })) {
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
      throw wb::Error(
          fmt::format("{}: cannot read the cached features: {}", path, wb::message_of(e)));
    }
    ctx.info("features: reusing {}", path);
    ctx.artifacts().record("features", in.cache_key, path);
    return out;
  }
  int64_t total = 0;
  for (const auto& s : kSplits) total += in.splits.at(s).tokens.size(0);
  auto progress = ctx.progress("features", total);
  auto gen = torch::make_generator<at::CPUGeneratorImpl>(key_seed(in.checkpoint_key));
  for (const auto& s : kSplits) {
    out[s] = pooled_features(in, in.splits.at(s).tokens, gen, batch_size, ctx, *progress, grid);
    if (out[s].empty()) return {};  // stopped by the user
  }
  progress->finish();
  torch::serialize::OutputArchive ar;
  for (const auto& s : kSplits)
    for (int64_t l = 0; l < layers; ++l) ar.write(fmt::format("{}_{}", s, l), out[s][l]);
  // Renamed when whole: a killed run never leaves half a file.
  wb::write_checked(path, [&](const std::string& tmp) { wb::save_archive(ar, tmp); });
  ctx.artifacts().record("features", in.cache_key, path);
  return out;
}

}  // namespace probe
