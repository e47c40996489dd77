#pragma once
// The host's side of the plugin services: config, logging, progress, seeds, device,
// artifacts and results, bound to one run and one plugin.
#include <string>
#include <vector>

#include <workbench/context.hpp>

#include "platform/log.hpp"  // log_message, derive_seed
#include "store/store.hpp"

namespace wb {

// Removes from `dir` the temporaries of atomic writes (unique_temp_path) of this
// machine whose process no longer exists: what a writer killed mid-write (kill -9,
// power loss) leaves. Another machine's (a shared folder) are left alone.
void remove_orphaned_temporaries(const std::string& dir);

// Artifacts live in `root`/<kind>/<key>/; recording one adds a row with its checksum
// to `store` (which may be null: then files are cached but not recorded).
class StoreArtifacts : public ArtifactCache {
 public:
  StoreArtifacts(std::string root, Store* store, int64_t run)
      : root_(std::move(root)), store_(store), run_(run) {}
  std::string dir(const std::string& kind, const std::string& key) override;
  // Where dir() would be, without making it.
  std::string path(const std::string& kind, const std::string& key) const;
  // flock(2) on <dir>/.lock; says so when it has to wait. Once held, removes the
  // temporaries that dead writers left in the folder.
  std::unique_ptr<ArtifactLock> lock(const std::string& kind, const std::string& key) override;
  void record(const std::string& kind, const std::string& key, const std::string& path) override;

 private:
  std::string root_;
  Store* store_;
  int64_t run_;
};

// Results of one plugin of one run: rows name the plugin and its config hash; metrics
// are named "<metric_prefix>/<name>", the prefix being the plugin's name unless given
// (a run's second finetune writes "finetune#2/...", so the two curves stay apart).
class StoreResults : public ResultSink {
 public:
  StoreResults(Store* store, int64_t run, std::string plugin, std::string config_hash,
               std::string metric_prefix = "")
      : store_(store),
        run_(run),
        plugin_(std::move(plugin)),
        hash_(std::move(config_hash)),
        metric_prefix_(metric_prefix.empty() ? plugin_ : std::move(metric_prefix)) {}
  void metric(int64_t step, const std::string& name, double value) override;
  void result(const std::string& metric, int64_t layer, const std::string& split,
              double value) override;

 private:
  Store* store_;
  int64_t run_;
  std::string plugin_, hash_, metric_prefix_;
};

class HostContext : public PluginContext {
 public:
  HostContext(Section section, uint64_t run_seed, torch::Device device, ArtifactCache* artifacts,
              ResultSink* results);
  const Section& config() const override { return section_; }
  void log(LogLevel level, const std::string& message) const override;
  std::unique_ptr<Progress> progress(const std::string& label, int64_t total) const override;
  uint64_t seed(const std::string& stream) const override;
  const DataFacts& data() const override { return data_; }
  // Set by the host once the run's tokens are known, before the plugin is made.
  void set_data(const DataFacts& data) { data_ = data; }
  torch::Device device() const override { return device_; }
  ArtifactCache& artifacts() const override { return *artifacts_; }
  ResultSink& results() const override { return *results_; }
  bool stop_requested() const override;
  void depends_on(const std::string& path) const override;
  // The files declared through depends_on, in the order first declared.
  const std::vector<std::string>& inputs() const { return inputs_; }

 private:
  Section section_;
  std::string owner_;  // "model:igpt": the plugin's place, for seeds and log lines
  uint64_t run_seed_;
  torch::Device device_;
  DataFacts data_;
  ArtifactCache* artifacts_;
  ResultSink* results_;
  mutable std::vector<std::string> inputs_;
};

}  // namespace wb
