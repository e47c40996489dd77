#pragma once
#include <string>

namespace wb {

// SHA-256 in lower-case hex (OpenSSL).
std::string sha256_hex(const std::string& data);
std::string sha256_file(const std::string& path);
// The first 16 hex digits: the ids of configs and artifacts, short enough to read.
inline std::string short_hash(const std::string& data) {
  return sha256_hex(data).substr(0, 16);
}

}  // namespace wb
