#pragma once
// Shared by the fault suite: a small experiment, store queries, and the temporary
// files a run must never leave behind.
#include <filesystem>
#include <map>
#include <string>

#include <fmt/format.h>

#include "store/store.hpp"
#include "test_support.hpp"

namespace faults {

// A run of a few seconds on `data` (wbtest::write_pattern_dataset), probed at every layer.
// On the CPU even where a GPU exists: the suite compares an interrupted-then-rerun run
// with an uninterrupted one bit for bit, and CUDA's training is not bit-reproducible
// (atomic adds in backward), so there the two differ by noise, not by a fault.
inline std::string experiment(const std::string& data, int64_t steps = 10) {
  return fmt::format(R"(
[experiment]
name = "faults"
threads = 1
device = "cpu"

[dataset]
plugin = "fashion_mnist"
path = "{}"
resolution = 7
max_train = 200
max_eval = 100

[quantizer]
plugin = "grey"
levels = 8

[model]
plugin = "igpt"
size = "tiny"

[objective]
plugin = "ar"

[training]
steps = {}
batch_size = 16
val_every = 5
checkpoint_every = 5

[[evaluators]]
plugin = "linear_probe"
l2_steps = 1
)",
                     data, steps);
}

inline std::string one(const std::string& db, const std::string& sql) {
  wb::Store store(db);
  return wbtest::one(store, sql);
}

// "metric layer split = value" lines of every finished run, by config hash.
inline std::map<std::string, std::string> results_by_config(const std::string& db) {
  wb::Store store(db);
  std::map<std::string, std::string> out;
  store.query(
      "SELECT config_hash, metric, layer, split, value FROM run_results WHERE status = "
      "'finished' ORDER BY config_hash, metric, layer, split",
      {}, [&](auto&, const auto& v) {
        out[v[0]] += fmt::format("{} {} {} = {}\n", v[1], v[2], v[3], v[4]);
      });
  return out;
}

// Files under `dir` whose name says they are a temporary of an atomic write.
inline int temporaries(const std::string& dir) {
  int n = 0;
  if (!std::filesystem::exists(dir)) return 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
    n += e.path().filename().string().find(".tmp.") != std::string::npos;
  return n;
}

}  // namespace faults
