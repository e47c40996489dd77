#pragma once
#include <ostream>
#include <string>

#include "store/store.hpp"

namespace wb::cli {

// Per-layer tables of an experiment's finished runs (one column per run and split, one
// row per layer), then its scalar results. Runs that differ only in their seed share a
// column of mean ± std (n runs) unless `by_seed`.
void print_experiment_tables(Store& store, const std::string& experiment, std::ostream& out,
                             bool by_seed = false);
// Everything about one run: provenance, config, metric summaries, results.
void print_run(Store& store, int64_t run, std::ostream& out);

}  // namespace wb::cli
