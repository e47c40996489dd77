#include "run/provenance.hpp"

#include <unistd.h>

#include <torch/version.h>

#include "wb_git_version.h"

#ifndef WB_VERSION
#define WB_VERSION "0.0.0"
#endif

namespace wb {

std::string host_name() {
  char buf[256] = {0};
  gethostname(buf, sizeof buf - 1);
  return buf;
}

std::string workbench_version() {
  return WB_VERSION;
}

Provenance collect_provenance(const std::string& command_line) {
  Provenance p;
  // The commit the binary was built from, and whether its tracked files differed from it
  // then (cmake/GitVersion.cmake); plugins are identified by their own SHA-256.
  p.git_commit = WB_GIT_COMMIT;
  p.git_dirty = WB_GIT_DIRTY != 0;
  p.workbench_version = WB_VERSION;
  p.torch_version = TORCH_VERSION;
  p.host = host_name();
  p.pid = getpid();
  p.command_line = command_line;
  return p;
}

}  // namespace wb
