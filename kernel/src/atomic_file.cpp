#include <workbench/atomic_file.hpp>

#include <unistd.h>

#include <atomic>
#include <filesystem>

#include <fmt/format.h>

namespace wb {

std::string unique_temp_path(const std::string& path) {
  static std::atomic<uint64_t> calls{0};
  return fmt::format("{}.tmp.{}.{}", path, static_cast<long>(getpid()), calls++);
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

}  // namespace wb
