#include "pooled_features.hpp"

namespace probe {

std::vector<torch::Tensor> pooled_features(const wb::EvalInputs& in, const torch::Tensor& tokens,
                                           torch::Generator& gen, int64_t batch_size,
                                           const wb::PluginContext& ctx, wb::Progress& progress) {
  torch::NoGradGuard no_grad;
  in.model->module().eval();
  const int64_t layers = in.model->num_layers() + 1;
  std::vector<std::vector<torch::Tensor>> parts(layers);
  for (int64_t i = 0; i < tokens.size(0); i += batch_size) {
    auto x = tokens.slice(0, i, std::min(tokens.size(0), i + batch_size)).to(ctx.device());
    auto fin = in.objective->prepare(x, gen);  // the objective's view: causal or masked
    fin.want_features = true;
    auto fout = in.model->forward(fin);
    for (int64_t l = 0; l < layers; ++l)
      parts[l].push_back(fout.features[l].to(torch::kCPU, torch::kFloat32));
    progress.advance(x.size(0));
    if (ctx.stop_requested()) return {};  // the host records the run as interrupted
  }
  std::vector<torch::Tensor> out;
  for (int64_t l = 0; l < layers; ++l) out.push_back(torch::cat(parts[l]));
  return out;
}

}  // namespace probe
