#pragma once
// `workbench results merge FROM.db...`: runs made elsewhere (another machine, a
// `--shard` of a sweep) brought into one store. A run already there, the same attempt
// by config hash and provenance (start time, host, process), is not copied again, so
// merging twice, or merging a store into itself, adds nothing. Artifacts kept under
// the source store's artifacts folder are copied under the target's, their checksums
// checked, and their rows point to the copies; others keep their paths.
#include <cstdint>
#include <string>

#include "store/store.hpp"

namespace wb {

struct MergeSummary {
  int64_t runs_added = 0;
  int64_t runs_present = 0;   // the same attempt was already in the target
  int64_t files_copied = 0;   // artifacts copied under the target's folder
  int64_t files_missing = 0;  // artifacts whose file was not found: row kept, path as it was
};

// Merges the store at `from` into `into`, in one transaction. `artifacts_root` is the
// target's artifacts folder (default: beside it). Throws wb::Error for a missing or
// newer store, or a file whose copy does not match its recorded checksum.
MergeSummary merge_store(Store& into, const std::string& from, std::string artifacts_root = "");

}  // namespace wb
