#include "experiment/run_keys.hpp"

#include <algorithm>
#include <thread>

namespace wb {

namespace {

constexpr unsigned kThreadsPerCore = 4;  // experiment.threads' cap, per core of the machine

Schema make_experiment_schema() {
  Schema s;
  s.string("name", "", "experiment name (default: the file's stem)");
  s.string("description", "", "one line about what the experiment tests");
  s.integer("seed", 0, "seed of every random stream of the run (splits, init, data order, masks)")
      .at_least(0);
  s.string("device", "auto", "auto (CUDA when available), cpu or cuda")
      .one_of({"auto", "cpu", "cuda"});
  // More threads than 4 a core only slow a run, and tens of thousands exhaust the
  // machine's processes before LibTorch fails.
  s.integer("threads", 0, "intra-op CPU threads; 0 = one per core (at most 4 a core)")
      .range(0, kThreadsPerCore * std::max(1u, std::thread::hardware_concurrency()));
  s.boolean("memory_check", true,
            "refuse to train when the estimated memory of a training step exceeds the "
            "machine's available memory (CPU) or the GPU's free memory");
  return s;
}

Schema make_dataset_host_keys() {
  Schema s;
  s.integer("resolution", 0,
            "input resolution (IR): images are resized to IR x IR with the `resize` "
            "filter; 0 = native size (at most 256: the paper's largest is 64, and 256 is "
            "65,536 tokens per image)")
      .range(0, 256);
  s.string("resize", "area",
           "resize filter: area (averaging, the default), bilinear or bicubic (both "
           "antialiased), nearest")
      .one_of({"area", "bilinear", "bicubic", "nearest"});
  s.boolean("unlabeled", false,
            "also pretrain on the dataset's unlabeled split (stl10); probes never see it");
  s.integer("max_train", 0, "use only the first N training images (0 = all)").at_least(0);
  s.integer("max_eval", 0, "use only the first N validation and test images (0 = all)").at_least(0);
  return s;
}

}  // namespace

const Schema& experiment_schema() {
  static const Schema s = make_experiment_schema();
  return s;
}

const Schema& dataset_host_keys() {
  static const Schema s = make_dataset_host_keys();
  return s;
}

}  // namespace wb
