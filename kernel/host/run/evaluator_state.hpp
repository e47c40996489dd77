#pragma once
// Where an evaluation that trains keeps its progress (wb::Optimiser::save): the artifact
// folder evaluator_state/<the evaluation's hash>, so that a run of the same evaluation
// (its config, its code, the same checkpoint) that was stopped resumes it. Not an
// artifact of the run: nothing reads it once the evaluation has finished, and the
// runner deletes it then.
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <workbench/context.hpp>
#include <workbench/optimiser.hpp>

#include "run/run_context.hpp"

namespace wb {

class EvaluatorState {
 public:
  EvaluatorState(StoreArtifacts& artifacts, std::string hash, torch::Device device, bool bfloat16);

  // For EvalInputs::optimiser: the n-th optimiser made saves to optimiser<n>.pt. The
  // first takes the folder's lock, held while this object lives, so that two
  // processes running the same evaluation at once never interleave their saves.
  OptimiserFactory factory();

  // Deletes the saved progress, saying `why` when there was some (--force: the
  // evaluation starts over; finished: nothing will read it).
  void discard(const std::string& why);

  // Whether some optimiser's progress is saved (what a stopped run leaves to resume).
  bool saved() const;

 private:
  // The optimisers' files in the folder (their progress, checksum records and the
  // temporaries of a writer that died), none when there is no folder.
  std::vector<std::filesystem::path> files() const;

  StoreArtifacts& artifacts_;
  std::string hash_;
  torch::Device device_;
  bool bfloat16_;
  std::unique_ptr<ArtifactLock> lock_;
  int made_ = 0;
};

}  // namespace wb
