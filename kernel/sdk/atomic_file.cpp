#include <workbench/atomic_file.hpp>

#include <signal.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <sstream>

#include <fmt/format.h>
#include <workbench/error.hpp>

namespace wb {

namespace {

const std::string& this_host() {
  static const std::string host = [] {
    char name[256] = {};
    return gethostname(name, sizeof name - 1) == 0 && name[0] ? std::string(name)
                                                              : std::string("host");
  }();
  return host;
}

}  // namespace

std::string unique_temp_path(const std::string& path) {
  static std::atomic<uint64_t> calls{0};
  return fmt::format("{}.tmp.{}.{}.{}", path, this_host(), static_cast<long>(getpid()), calls++);
}

bool is_orphaned_temporary(const std::string& name) {
  // <file>.tmp.<host>.<pid>.<n>; a host name may hold dots, so the fields are read
  // from the end.
  const auto tmp = name.rfind(".tmp.");
  const auto last = name.rfind('.');
  if (tmp == std::string::npos || last <= tmp + 4) return false;
  const auto pid_dot = name.rfind('.', last - 1);
  if (pid_dot <= tmp + 4) return false;
  if (name.compare(tmp + 5, pid_dot - tmp - 5, this_host()) != 0) return false;
  const std::string pid_text = name.substr(pid_dot + 1, last - pid_dot - 1);
  char* end = nullptr;
  const long pid = std::strtol(pid_text.c_str(), &end, 10);
  if (pid <= 0 || *end != '\0' || pid == static_cast<long>(getpid())) return false;
  return ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;  // no such process
}

void write_atomically(const std::string& path,
                      const std::function<void(const std::string& temporary)>& write) {
  const std::string tmp = unique_temp_path(path);
  try {
    write(tmp);
    std::filesystem::rename(tmp, path);
  } catch (...) {
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
    throw;
  }
}

namespace {

// "1.2 GB free" on the file system of `path`, or "" when it cannot be told.
std::string free_space(const std::string& path) {
  auto dir = std::filesystem::absolute(path).parent_path();
  struct statvfs st {};
  if (::statvfs(dir.c_str(), &st) != 0) return "";
  const double bytes = double(st.f_bavail) * double(st.f_frsize);
  return fmt::format("; {:.1f} MB free on that file system", bytes / 1e6);
}

}  // namespace

void write_file(const std::string& path, const std::string& bytes) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f)
    throw Error(
        fmt::format("{}: cannot create ({}){}", path, std::strerror(errno), free_space(path)));
  const size_t written = std::fwrite(bytes.data(), 1, bytes.size(), f);
  int err = written == bytes.size() ? 0 : errno;
  if (std::fflush(f) != 0 && !err) err = errno;
  if (std::fclose(f) != 0 && !err) err = errno;
  if (err || written != bytes.size())
    throw Error(fmt::format("{}: cannot write {} bytes ({}){}", path, bytes.size(),
                            std::strerror(err ? err : EIO), free_space(path)));
}

void save_archive(torch::serialize::OutputArchive& archive, const std::string& path) {
  std::ostringstream bytes;
  archive.save_to(bytes);
  write_file(path, bytes.str());
}

}  // namespace wb
