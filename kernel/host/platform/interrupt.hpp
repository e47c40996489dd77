#pragma once
#include <stdexcept>

namespace wb {

// Thrown when Ctrl-C or SIGTERM stopped a run (training writes its checkpoint first);
// the runner records the run as interrupted.
struct Interrupted : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Ctrl-C or SIGTERM asks the running step to stop: the trainer writes a checkpoint and
// the run is recorded as interrupted. A second signal ends the process at once.
void install_interrupt_handler();
bool interrupted();
void clear_interrupt();

}  // namespace wb
