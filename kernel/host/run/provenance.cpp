#include "run/provenance.hpp"

#include <unistd.h>

#include <array>
#include <cstdio>

#include <torch/version.h>

#ifndef WB_SOURCE_DIR
#define WB_SOURCE_DIR "."
#endif
#ifndef WB_VERSION
#define WB_VERSION "0.0.0"
#endif

namespace wb {

namespace {
std::string capture(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  std::array<char, 256> buf{};
  while (fgets(buf.data(), buf.size(), p)) out += buf.data();
  if (pclose(p) != 0) return "";
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}
}  // namespace

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
  const std::string git = std::string("git -C '") + WB_SOURCE_DIR + "' ";
  p.git_commit = capture(git + "rev-parse HEAD 2>/dev/null");
  if (p.git_commit.empty()) p.git_commit = "unknown";
  p.git_dirty = !capture(git + "status --porcelain --untracked-files=no 2>/dev/null").empty();
  p.workbench_version = WB_VERSION;
  p.torch_version = TORCH_VERSION;
  p.host = host_name();
  p.pid = getpid();
  p.command_line = command_line;
  return p;
}

}  // namespace wb
