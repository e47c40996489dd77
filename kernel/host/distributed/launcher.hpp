#pragma once
// `workbench run FILE --nproc N [--nnodes M --node-rank K --master ADDR:PORT]`: the
// launcher, as torchrun is for PyTorch. It starts N copies of this program, each with
// its place in the run (cluster.hpp's environment variables), waits for them, and when
// one fails stops the rest, so that no worker is left waiting on a dead peer.
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace wb {

struct LaunchSpec {
  int64_t nproc = 1;      // workers on this machine
  int64_t nnodes = 1;     // machines
  int64_t node_rank = 0;  // this machine's index; node 0 hosts rank 0 and its store
  std::string master_addr = "127.0.0.1";
  int64_t master_port = 0;            // 0: a free port (one machine only)
  std::chrono::seconds timeout{300};  // rendezvous and collectives
  std::chrono::seconds grace{30};     // after a failure, how long the rest may take to stop
};

// --master "ADDR:PORT" -> *addr, *port (the launcher's spec, or a SLURM worker's); a
// wb::Error shows the form.
void parse_master(const std::string& text, std::string* addr, int64_t* port);

struct WorkerExit {
  int64_t rank = 0;
  pid_t pid = 0;
  int status = 0;                // as waitpid reports it
  std::string describe() const;  // "rank 1 (pid 123) was killed by signal 9"
  bool ok() const;
};

// Starts the workers (this executable, `args` as its argv[1..]), waits for all of them,
// and returns how each ended. The first to fail gets the others a SIGTERM, then a
// SIGKILL after `grace`. SIGTERM to the launcher is passed on; Ctrl-C reaches the
// workers from the terminal directly.
std::vector<WorkerExit> launch_workers(const LaunchSpec& spec,
                                       const std::vector<std::string>& args);

}  // namespace wb
