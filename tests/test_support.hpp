#pragma once
// Helpers shared by the tests: temporary folders, IDX fixtures in the real format,
// the built plugins, and configs from TOML text.
#include <memory>
#include <string>

#include <torch/types.h>

#include "experiment/experiment.hpp"
#include "plugins/plugin_registry.hpp"
#include "run/run_context.hpp"
#include "store/store.hpp"

namespace wbtest {

// A fresh folder under /tmp, removed with everything in it when destroyed.
struct TempDir {
  TempDir();
  ~TempDir();
  std::string path;
  std::string operator/(const std::string& name) const { return path + "/" + name; }
};

// The real plugins of the build tree, loaded once.
const wb::PluginRegistry& plugins();

// IDX files as the MNIST family ships them (big-endian header), gzipped or raw.
void write_idx_images(const std::string& path, const torch::Tensor& images,
                      bool gzip);  // uint8 (N,H,W)
void write_idx_labels(const std::string& path, const torch::Tensor& labels,
                      bool gzip);  // int64 (N)

// A Fashion-MNIST-shaped folder whose classes are easy to tell apart: class 0 dark,
// 1 bright, 2 top half bright, 3 left half bright, with pixel noise. 28x28.
void write_pattern_dataset(const std::string& dir, int64_t n_train, int64_t n_test,
                           bool gzip = true);

// The four plugin sections every experiment needs (fashion_mnist, grey, a tiny igpt,
// ar), with `dataset_keys` added under [dataset]. Tests append what they vary.
std::string minimal_experiment(const std::string& dataset_keys = "");

// The first run of an experiment written as TOML text.
wb::RunConfig run_config(const std::string& toml, const std::vector<std::string>& overrides = {});

// Everything a plugin needs from the host, backed by a store in a temp folder.
struct HostFixture {
  explicit HostFixture(const wb::Section& section, uint64_t seed = 0);
  TempDir dir;
  std::unique_ptr<wb::Store> store;
  int64_t run = 0;
  std::unique_ptr<wb::StoreArtifacts> artifacts;
  std::unique_ptr<wb::StoreResults> results;
  std::unique_ptr<wb::HostContext> context;
};

// Runs the CLI with `args` (and `env`, e.g. "WORKBENCH_PLUGIN_PATH=/x"); returns its
// exit status and puts stdout+stderr in *output.
int run_cli(const std::string& args, std::string* output, const std::string& env = "");

// The first column of a query's last row ("" when there is none), and as a number
// (-1 when there is none).
std::string one(wb::Store& store, const std::string& sql);
int64_t count(wb::Store& store, const std::string& sql);

// A text file's whole content ("" when it cannot be read).
std::string read_text(const std::string& path);

}  // namespace wbtest
