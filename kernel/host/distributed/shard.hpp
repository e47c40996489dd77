#pragma once
// `workbench run FILE --shard i/n`: n machines share one experiment's runs, each taking
// its own share. A run's share is its pretraining hash modulo n: stable (the same on
// every machine and every invocation) and such that runs sharing one checkpoint
// (variants that differ only in their evaluators) land on one machine, which trains it
// once. `workbench results merge` puts the shares' stores back together.
#include <cstdint>
#include <string>

#include "experiment/experiment.hpp"

namespace wb {

struct Shard {
  int64_t index = 0;  // 0 .. count - 1
  int64_t count = 1;
};

// "i/n" with 0 <= i < n; anything else is a wb::Error that shows the form.
Shard parse_shard(const std::string& text);

// Whether the run with this pretraining hash (hex) belongs to `shard`.
bool in_shard(const std::string& pretrain_hash, const Shard& shard);

// The experiment with only the runs of `shard`, in their order.
Experiment select_shard(Experiment exp, const Shard& shard);

}  // namespace wb
