#include "run/run_context.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include <spdlog/spdlog.h>
#include <workbench/atomic_file.hpp>
#include <workbench/checked_file.hpp>
#include <workbench/error.hpp>

#include "platform/files.hpp"
#include "platform/hash.hpp"
#include "platform/interrupt.hpp"
#include "platform/progress.hpp"

namespace wb {

std::string StoreArtifacts::path(const std::string& kind, const std::string& key) const {
  return (std::filesystem::path(root_) / kind / key).string();
}

std::string StoreArtifacts::dir(const std::string& kind, const std::string& key) {
  namespace fs = std::filesystem;
  const std::string d = path(kind, key);
  fs::create_directories(d);
  // A folder of the tree that is a symbolic link out of it (the artifacts root itself
  // may be one: --artifacts on another disk) is refused, never written through.
  const fs::path root = fs::canonical(root_), real = fs::canonical(d);
  if (!lies_within(root, real))
    throw Error(
        fmt::format("{}: leads out of the artifacts folder {} (to {}) through a symbolic "
                    "link; refused",
                    d, root.string(), real.string()));
  return d;
}

namespace {
struct FileLock : ArtifactLock {
  explicit FileLock(int fd) : fd(fd) {}
  ~FileLock() override { ::close(fd); }  // closing releases the flock
  int fd;
};
}  // namespace

void remove_orphaned_temporaries(const std::string& dir) {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (!is_orphaned_temporary(name)) continue;
    log_message(LogLevel::Info, fmt::format("removing {}, left by a process that died", name));
    std::filesystem::remove(e.path(), ec);
  }
}

std::unique_ptr<ArtifactLock> StoreArtifacts::lock(const std::string& kind,
                                                   const std::string& key) {
  const std::string path = (std::filesystem::path(dir(kind, key)) / ".lock").string();
  // O_NOFOLLOW: a symbolic link there (dangling or not) is refused, never followed to
  // create or lock a file outside the store's folder.
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0)
    throw Error(fmt::format("{}: cannot open lock file: {}", path,
                            errno == ELOOP ? "it is a symbolic link (refused: an artifact's "
                                             "files are the store folder's own)"
                                           : std::strerror(errno)));
  auto held = std::make_unique<FileLock>(fd);
  // Polled rather than blocking, so that Ctrl-C stops the wait.
  for (bool said = false; ::flock(fd, LOCK_EX | LOCK_NB) != 0;) {
    if (errno != EWOULDBLOCK && errno != EINTR)
      throw Error(fmt::format("{}: cannot lock: {}", path, std::strerror(errno)));
    if (interrupted()) throw Interrupted(fmt::format("interrupted while waiting for {}", path));
    if (!said)
      log_message(LogLevel::Info,
                  fmt::format("{} {}: another run is making it; waiting for it", kind, key));
    said = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  remove_orphaned_temporaries(dir(kind, key));
  return held;
}

void StoreArtifacts::record(const std::string& kind, const std::string& key,
                            const std::string& path) {
  if (!store_) return;  // a cache without a store (benchmarks, tests): nothing to record
  auto bytes = static_cast<int64_t>(std::filesystem::file_size(path));
  // The checksum record written with the file (checked by whoever just reused it), so
  // that recording does not read a large checkpoint a second time; hashed otherwise.
  std::string sha;
  std::ifstream record(checksum_path(path));
  if (!(record >> sha) || sha.size() != 64) sha = sha256_file(path);
  store_->artifact(run_, kind, key, std::filesystem::absolute(path).string(), sha, bytes);
}

void StoreResults::metric(int64_t step, const std::string& name, double value) {
  store_->metric(run_, step, metric_prefix_ + "/" + name, value);
}

void StoreResults::result(const std::string& metric, int64_t layer, const std::string& split,
                          double value) {
  store_->result(run_, plugin_, hash_, metric, layer, split, value);
}

HostContext::HostContext(Section section, uint64_t run_seed, torch::Device device,
                         ArtifactCache* artifacts, ResultSink* results)
    : section_(std::move(section)),
      run_seed_(run_seed),
      device_(device),
      artifacts_(artifacts),
      results_(results) {
  owner_ = section_.name() + ":" + (section_.has("plugin") ? section_.get_string("plugin") : "");
}

void HostContext::log(LogLevel level, const std::string& message) const {
  log_message(level, fmt::format("[{}] {}", section_.get_string("plugin"), message));
}

std::unique_ptr<Progress> HostContext::progress(const std::string& label, int64_t total) const {
  return make_progress(label, total);
}

void HostContext::depends_on(const std::string& path) const {
  if (std::find(inputs_.begin(), inputs_.end(), path) == inputs_.end()) inputs_.push_back(path);
}

bool HostContext::stop_requested() const {
  return interrupted();
}

uint64_t HostContext::seed(const std::string& stream) const {
  return derive_seed(run_seed_, owner_, stream);
}

}  // namespace wb
