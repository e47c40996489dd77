#pragma once
// The services the host gives a plugin. A plugin receives a PluginContext in its
// constructor; the context outlives the plugin object.
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include <fmt/format.h>
#include <torch/types.h>

#include <workbench/config.hpp>
#include <workbench/export.hpp>

namespace wb {

enum class LogLevel { Debug, Info, Warn };

// Progress of one long step: rate and ETA on a terminal, plain periodic lines otherwise.
class WB_API Progress {
 public:
  virtual ~Progress();
  // Advance by n units; `note` (e.g. "loss 2.31") is shown beside the rate.
  virtual void advance(int64_t n = 1, const std::string& note = "") = 0;
  virtual void finish(const std::string& note = "") = 0;
};

// Held while one process makes an artifact (ArtifactCache::lock); released when
// destroyed, or when the process dies.
class WB_API ArtifactLock {
 public:
  virtual ~ArtifactLock();
};

// Files a run computes that later runs can reuse (palettes, token arrays, checkpoints,
// features), kept by the hash of what determines them.
class WB_API ArtifactCache {
 public:
  virtual ~ArtifactCache();
  // Folder for artifacts of `kind` keyed by `key` (a hash); created on demand.
  virtual std::string dir(const std::string& kind, const std::string& key) = 0;
  // Exclusive use of dir(kind, key) among the processes of this machine: take it before
  // looking for an artifact there and hold it until the artifact is written, so that of
  // two runs that need the same artifact at once one makes it and the other waits,
  // then reuses it.
  virtual std::unique_ptr<ArtifactLock> lock(const std::string& kind, const std::string& key) = 0;
  // Attach a finished file to the current run (path, size and sha256 go to the store).
  virtual void record(const std::string& kind, const std::string& key, const std::string& path) = 0;
};

// Where a plugin's numbers go: the run's results store.
class WB_API ResultSink {
 public:
  virtual ~ResultSink();
  // A time series value, e.g. a loss at a training step.
  virtual void metric(int64_t step, const std::string& name, double value) = 0;
  // A final number of an evaluation. layer -1 means "not per layer"; split is
  // "train", "val" or "test".
  virtual void result(const std::string& metric, int64_t layer, const std::string& split,
                      double value) = 0;
};

// What the run's data are. Known once the run's tokens are: a dataset or quantizer
// (made before them) sees zeros; models, objectives and evaluators see the facts.
struct DataFacts {
  int64_t vocab_size = 0;   // palette size: tokens lie in [0, vocab_size)
  int64_t channels = 0;     // values per pixel (1 grey, 3 RGB)
  int64_t image_side = 0;   // the run's resolution: images are image_side x image_side
  int64_t context = 0;      // tokens per image (image_side squared)
  int64_t num_classes = 0;  // labels lie in [0, num_classes)
};

class WB_API PluginContext {
 public:
  virtual ~PluginContext();

  // This plugin's validated config section (defaults filled in).
  virtual const Section& config() const = 0;

  virtual void log(LogLevel level, const std::string& message) const = 0;
  template <class... A>
  void info(fmt::format_string<A...> f, A&&... args) const {
    log(LogLevel::Info, fmt::format(f, std::forward<A>(args)...));
  }
  template <class... A>
  void warn(fmt::format_string<A...> f, A&&... args) const {
    log(LogLevel::Warn, fmt::format(f, std::forward<A>(args)...));
  }
  template <class... A>
  void debug(fmt::format_string<A...> f, A&&... args) const {
    log(LogLevel::Debug, fmt::format(f, std::forward<A>(args)...));
  }

  virtual std::unique_ptr<Progress> progress(const std::string& label, int64_t total) const = 0;

  // A seed derived from the experiment's seed, this plugin's name and `stream`, so
  // two plugins (or two uses in one plugin) never share random numbers by accident.
  virtual uint64_t seed(const std::string& stream) const = 0;
  torch::Generator generator(const std::string& stream) const;

  // The run's data facts (palette size, channels, image side, context length).
  virtual const DataFacts& data() const = 0;

  // The run's device (cpu or cuda), already resolved from "auto".
  virtual torch::Device device() const = 0;

  virtual ArtifactCache& artifacts() const = 0;
  virtual ResultSink& results() const = 0;

  // True once the user asked the run to stop (Ctrl-C, SIGTERM). Long loops check it
  // and return early; the host then records the run as interrupted.
  virtual bool stop_requested() const = 0;

  // Declares that what this plugin produces depends on the file at `path` (a dataset
  // calls it for each file it reads). The host fingerprints these files (size,
  // modification time, inode change time and number) with every cache built from the plugin's
  // output, and remakes the cache when one of them changes.
  virtual void depends_on(const std::string& path) const = 0;
};

}  // namespace wb
