#pragma once
namespace wb {

// Ctrl-C or SIGTERM asks the running step to stop: the trainer writes a checkpoint and
// the run is recorded as interrupted. A second signal ends the process at once.
void install_interrupt_handler();
bool interrupted();
void clear_interrupt();

}  // namespace wb
