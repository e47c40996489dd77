#include "distributed/launcher.hpp"

#include "distributed/launch_env.hpp"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <thread>

#include <fmt/format.h>
#include <workbench/error.hpp>

#include "distributed/cluster.hpp"
#include "platform/log.hpp"

namespace wb {

namespace {

std::vector<pid_t> g_children;  // for the SIGTERM handler: written before it is installed

// The workers still running (0 marks one that has ended); async-signal-safe.
void signal_children(int sig) {
  for (pid_t p : g_children)
    if (p > 0) kill(p, sig);
}

void forward_sigterm(int) {
  signal_children(SIGTERM);
}

// A port nobody listens on now: bound, read back, released. Another process could take
// it before rank 0 binds it; the rendezvous then fails with a clear error.
int64_t free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw Error(fmt::format("cannot open a socket: {}", std::strerror(errno)));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    throw Error(fmt::format("cannot find a free port: {}", std::strerror(errno)));
  }
  close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace

void parse_master(const std::string& text, std::string* addr, int64_t* port) {
  const auto colon = text.rfind(':');
  const std::string form = "--master ADDR:PORT (e.g. 10.0.0.1:29500)";
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size())
    throw Error(fmt::format("'{}' is not {}", text, form));
  char* end = nullptr;
  const long number = std::strtol(text.c_str() + colon + 1, &end, 10);
  if (*end != '\0' || number < 1 || number > 65535)
    throw Error(fmt::format("'{}': the port is not in 1..65535; expected {}", text, form));
  *addr = text.substr(0, colon);
  *port = number;
}

std::string WorkerExit::describe() const {
  if (WIFEXITED(status))
    return fmt::format("rank {} (pid {}) exited with status {}", rank, pid, WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return fmt::format("rank {} (pid {}) was killed by signal {} ({})", rank, pid, WTERMSIG(status),
                       strsignal(WTERMSIG(status)));
  return fmt::format("rank {} (pid {}) ended with wait status {}", rank, pid, status);
}

bool WorkerExit::ok() const {
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

std::vector<WorkerExit> launch_workers(const LaunchSpec& spec,
                                       const std::vector<std::string>& args) {
  if (spec.nproc < 1 || spec.nnodes < 1 || spec.node_rank < 0 || spec.node_rank >= spec.nnodes)
    throw Error(
        fmt::format("--nproc {} --nnodes {} --node-rank {}: need nproc >= 1, nnodes >= 1 "
                    "and 0 <= node-rank < nnodes",
                    spec.nproc, spec.nnodes, spec.node_rank));
  if (spec.nnodes > 1 && spec.master_port == 0)
    throw Error(
        "--nnodes > 1 needs --master ADDR:PORT, the address of node 0 that every "
        "machine can reach");
  ClusterSpec cs;
  cs.world = spec.nproc * spec.nnodes;
  cs.local_world = spec.nproc;
  cs.master_addr = spec.master_addr;
  cs.master_port = spec.master_port != 0 ? spec.master_port : free_port();
  cs.timeout = spec.timeout;

  std::vector<char*> argv;
  static const std::string self = "/proc/self/exe";
  std::vector<std::string> owned{"workbench"};
  owned.insert(owned.end(), args.begin(), args.end());
  for (auto& a : owned) argv.push_back(a.data());
  argv.push_back(nullptr);

  std::vector<WorkerExit> workers;
  g_children.assign(spec.nproc, 0);
  for (int64_t local = 0; local < spec.nproc; ++local) {
    cs.local_rank = local;
    cs.rank = spec.node_rank * spec.nproc + local;
    const pid_t pid = fork();
    if (pid < 0) throw Error(fmt::format("cannot start a worker: {}", std::strerror(errno)));
    if (pid == 0) {
      write_cluster_env(cs);
      execv(self.c_str(), argv.data());
      std::fprintf(stderr, "error: cannot start worker %lld: %s\n", static_cast<long long>(cs.rank),
                   std::strerror(errno));
      _exit(127);
    }
    g_children[local] = pid;
    workers.push_back({cs.rank, pid, 0});
  }
  log_message(LogLevel::Info,
              fmt::format("launched {} worker(s) on this machine, ranks {}..{} of {}, rendezvous "
                          "{}:{}",
                          spec.nproc, workers.front().rank, workers.back().rank, cs.world,
                          cs.master_addr, cs.master_port));
  // Ctrl-C reaches the workers from the terminal; the launcher outlives them.
  struct sigaction ignore {
  }, term{}, old_int{}, old_term{};
  ignore.sa_handler = SIG_IGN;
  term.sa_handler = forward_sigterm;
  sigaction(SIGINT, &ignore, &old_int);
  sigaction(SIGTERM, &term, &old_term);

  size_t running = workers.size();
  bool stopping = false;
  auto deadline = std::chrono::steady_clock::time_point::max();
  while (running > 0) {
    int status = 0;
    const pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid > 0) {
      for (size_t k = 0; k < workers.size(); ++k) {
        if (workers[k].pid != pid) continue;
        workers[k].status = status;
        g_children[k] = 0;
        --running;
        if (!workers[k].ok() && !stopping) {
          log_message(LogLevel::Warn,
                      fmt::format("{}; stopping the other workers", workers[k].describe()));
          stopping = true;
          deadline = std::chrono::steady_clock::now() + spec.grace;
          signal_children(SIGTERM);
        }
      }
      continue;
    }
    if (pid < 0 && errno != EINTR) break;
    if (stopping && std::chrono::steady_clock::now() > deadline) {
      signal_children(SIGKILL);
      deadline = std::chrono::steady_clock::time_point::max();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  g_children.clear();
  return workers;
}

}  // namespace wb
