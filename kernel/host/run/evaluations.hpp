#pragma once
// A pretrained checkpoint's evaluations: its validation on the whole validation split
// and the run's evaluators, each keyed by its own hash (run_evaluations) and copied
// from the store where some run already made it, computed otherwise.
#include <cstdint>

#include "plugins/plugin_registry.hpp"
#include "run/run_assembly.hpp"
#include "run/run_record.hpp"
#include "run/runner.hpp"

namespace wb {

// The checkpoint's validation on the whole validation split (as cut by
// dataset.max_eval), on every run, trained here or reused: the figure tables, reports
// and nightly bands read it. The periodic ones during training cover a subset. Its key
// is the checkpoint's: a run that reuses the checkpoint reuses its validation too.
void validate_checkpoint(RunAssembly& run, RunRecord& record, int64_t run_id,
                         const RunOptions& opt);

// The run's evaluators, in file order, on the pretrained model.
void evaluate(RunAssembly& run, RunRecord& record, int64_t run_id, const PluginRegistry& reg,
              const RunOptions& opt);

}  // namespace wb
