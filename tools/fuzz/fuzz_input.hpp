#pragma once
// The fuzzer's bytes as a file the readers open (they take paths): one file per
// process, rewritten at every input.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

namespace fuzz {

inline std::string as_file(const uint8_t* data, size_t size, const char* suffix = "") {
  // In memory (/dev/shm) where there is one: a million files written are no disk's job.
  static const std::string dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
  static const std::string path =
      dir + "/wb-fuzz-" + std::to_string(static_cast<long>(getpid())) + suffix;
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) __builtin_trap();
  if (size) std::fwrite(data, 1, size, f);
  std::fclose(f);
  return path;
}

}  // namespace fuzz
