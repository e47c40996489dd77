#pragma once
// The host's log line and seed derivation: used by every room above platform, so they
// live below them all.
#include <cstdint>
#include <string>

#include <workbench/context.hpp>  // LogLevel

namespace wb {

// A 63-bit seed from any text, by SHA-256: the same on every platform and build.
uint64_t seed_of(const std::string& text);

// A seed for `stream` of `owner`, derived from the run's seed by hashing, so streams
// are independent and stable across versions.
uint64_t derive_seed(uint64_t run_seed, const std::string& owner, const std::string& stream);

// One line of the run's log (spdlog: the terminal, or the CI log).
void log_message(LogLevel level, const std::string& message);

}  // namespace wb
