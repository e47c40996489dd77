#include "platform/log.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "platform/hash.hpp"

namespace wb {

uint64_t seed_of(const std::string& text) {
  // 63 bits: torch and std generators take them all without sign surprises.
  return std::stoull(sha256_hex(text).substr(0, 16), nullptr, 16) >> 1;
}

uint64_t derive_seed(uint64_t run_seed, const std::string& owner, const std::string& stream) {
  return seed_of(fmt::format("{}/{}/{}", run_seed, owner, stream));
}

void log_message(LogLevel level, const std::string& message) {
  switch (level) {
    case LogLevel::Debug:
      spdlog::debug(message);
      break;
    case LogLevel::Info:
      spdlog::info(message);
      break;
    case LogLevel::Warn:
      spdlog::warn(message);
      break;
  }
}

}  // namespace wb
