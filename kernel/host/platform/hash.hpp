#pragma once
#include <string>

#include <workbench/checked_file.hpp>  // sha256_hex, sha256_file (the SDK's)

namespace wb {

// The first 16 hex digits: the ids of configs and artifacts, short enough to read.
inline std::string short_hash(const std::string& data) {
  return sha256_hex(data).substr(0, 16);
}

}  // namespace wb
