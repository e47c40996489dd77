#pragma once
// `workbench export tensorboard`: a store's runs as TensorBoard event files, one
// folder per run (<out>/<experiment>/<run id> <label>/), so TensorBoard's run selector
// lists them by experiment. In each: every metric as a scalar against its step (tag =
// the metric's name, e.g. train/loss); each evaluation's results as scalars against
// the layer (tag results/<evaluator>/<metric>/<split>, the evaluator named as in the
// run's metrics: finetune#2 for a second finetune; step -1 for whole-model numbers
// such as best_layer); the run's sample grid (`workbench sample`'s PNG in
// reports/<experiment>/ beside the store) as the image "samples". Reads the store only.
#include <cstdint>
#include <string>
#include <vector>

#include "store/store.hpp"

namespace wb {

struct TensorboardExport {
  std::vector<std::string> files;  // one event file per run
  int64_t scalars = 0, images = 0;
};

// `runs`: the ids to export (an error naming one that is not in the store); empty:
// every run that is not archived.
TensorboardExport export_tensorboard(Store& store, const std::string& out_dir,
                                     const std::vector<int64_t>& runs);

}  // namespace wb
