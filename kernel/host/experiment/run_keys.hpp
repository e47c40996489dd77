#pragma once
// The keys the runner reads: the [experiment] section (seed, device, threads, ...) and
// the host's keys of the [dataset] section (resolution, resize, subsets), which every
// dataset plugin's section has besides its own. Declared beside the runner, as a
// plugin declares its own.
#include <workbench/config.hpp>

namespace wb {

const Schema& experiment_schema();
const Schema& dataset_host_keys();

}  // namespace wb
