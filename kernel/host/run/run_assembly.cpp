#include "run/run_assembly.hpp"

#include <filesystem>

#include "platform/hash.hpp"
#include "plugins/plugin_guard.hpp"
#include "run/run_record.hpp"

namespace wb {

PluginServices::PluginServices(const Section& section, uint64_t seed, torch::Device device,
                               ArtifactCache* artifacts, Store* store, int64_t run,
                               const std::string& hash, const std::string& metric_prefix,
                               const DataFacts* facts)
    : sink(RunRecord(store).results(run, section.get_string("plugin"), hash, metric_prefix)),
      context(section, seed, device, artifacts, sink.get()) {
  if (facts) context.set_data(*facts);
}

RunAssembly::RunAssembly(const RunConfig& rc, const PluginRegistry& registry, torch::Device device,
                         StoreArtifacts& artifacts, Store* store, int64_t run_id)
    : rc_(rc),
      registry_(registry),
      device_(device),
      seed_(static_cast<uint64_t>(rc.at("experiment").get_int("seed"))),
      artifacts_(artifacts),
      store_(store),
      run_id_(run_id),
      dataset_(rc.at("dataset"), seed_, device, &artifacts, store, run_id, rc.data_hash),
      quantizer_host_(rc.at("quantizer"), seed_, device, &artifacts, store, run_id, rc.data_hash) {}

bool RunAssembly::bfloat16() const {
  return uses_bfloat16(rc_.at("training").get_string("precision"), device_);
}

Quantizer& RunAssembly::quantizer() {
  if (!quantizer_)
    quantizer_ = registry_.create<Quantizer>(rc_.at("quantizer").get_string("plugin"),
                                             quantizer_host_.context);
  return *quantizer_;
}

TokenData& RunAssembly::tokens() {
  if (!tokens_) tokens_ = load_tokens(rc_, registry_, dataset_.context, quantizer(), artifacts_);
  return *tokens_;
}

const DataFacts& RunAssembly::facts() {
  if (!facts_) facts_ = data_facts(tokens(), quantizer());
  return *facts_;
}

Model& RunAssembly::model() {
  if (!model_) {
    const std::string name = rc_.at("model").get_string("plugin");
    model_host_ = services(rc_.at("model"), rc_.pretrain_hash);
    model_ = guard(registry_.create<Model>(name, model_host_->context), name);
    model_->build(ModelSpec{facts().vocab_size, facts().context});
    model_->module().to(device_);
  }
  return *model_;
}

void copy_weights(const torch::nn::Module& from, torch::nn::Module& to) {
  torch::NoGradGuard no_grad;
  const auto parameters = from.named_parameters(), buffers = from.named_buffers();
  for (auto& p : to.named_parameters()) p.value().copy_(parameters[p.key()]);
  for (auto& b : to.named_buffers()) b.value().copy_(buffers[b.key()]);
}

std::shared_ptr<Model> RunAssembly::model_copy() {
  Model& shared = model();
  const std::string name = rc_.at("model").get_string("plugin");
  auto copy = guard(registry_.create<Model>(name, model_host_->context), name);
  copy->build(ModelSpec{facts().vocab_size, facts().context});
  copy->module().to(device_);
  copy_weights(shared.module(), copy->module());
  return copy;
}

Objective& RunAssembly::objective() {
  if (!objective_) {
    const std::string name = rc_.at("objective").get_string("plugin");
    objective_host_ = services(rc_.at("objective"), rc_.pretrain_hash);
    objective_ = guard(registry_.create<Objective>(name, objective_host_->context), name, facts());
  }
  return *objective_;
}

std::string RunAssembly::checkpoint_key() {
  return short_hash(rc_.pretrain_hash + "\ntokens " + tokens().sha256);
}

std::string RunAssembly::final_checkpoint() {
  return (std::filesystem::path(checkpoint_dir()) / "final.pt").string();
}

std::unique_ptr<PluginServices> RunAssembly::services(const Section& section,
                                                      const std::string& hash,
                                                      const std::string& metric_prefix) {
  return std::make_unique<PluginServices>(section, seed_, device_, &artifacts_, store_, run_id_,
                                          hash, metric_prefix, &facts());
}

}  // namespace wb
