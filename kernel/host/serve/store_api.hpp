#pragma once
// The JSON the web view (`workbench serve`) and a notebook read, built from a store
// opened read-only. Each function answers one endpoint (docs/serve.md lists them).
// Run ids come from the request as text; one that is not a number is refused.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "store/store.hpp"

namespace wb {

// /api/runs: every run (archived ones with `all`), newest first: id, experiment,
// label, status, seed, start and end, seconds, device, host, commit, tags, note,
// archived, its seed group (runs of one experiment whose configs differ only in seed
// share it), the progress of a running one (last training step and training.steps),
// and its headline results (whole-model test rows, e.g. best_layer_accuracy).
nlohmann::json runs_json(Store& store, bool all);
// /api/run/ID: the run, its config text, plugins (with their code's hash), evaluations
// and metric names; null when there is no such run.
nlohmann::json run_json(Store& store, int64_t id);
// /api/metrics?run=..: the metric names of the runs, sorted.
nlohmann::json metric_names_json(Store& store, const std::vector<int64_t>& runs);
// /api/curve?name=..&run=..: each run's points [step, value] of one metric.
nlohmann::json curve_json(Store& store, const std::string& name, const std::vector<int64_t>& runs);
// /api/results?run=..: the runs' result rows.
nlohmann::json results_json(Store& store, const std::vector<int64_t>& runs);
// /api/diff?run=..: the config keys ("section.key", "evaluators.0.key") whose values
// differ between the runs, each with every run's value ("" where it has none).
nlohmann::json config_diff_json(Store& store, const std::vector<int64_t>& runs);

// "3" -> 3; an error naming the text otherwise.
int64_t run_id_of(const std::string& text);

}  // namespace wb
