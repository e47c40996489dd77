#include "platform/allocator.hpp"

#include <malloc.h>

#include <cstddef>

namespace wb {

void keep_freed_memory() {
  constexpr int kMmapThreshold = 32 << 20;  // glibc's maximum on 64-bit
  mallopt(M_MMAP_THRESHOLD, kMmapThreshold);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);  // an int: 1 GiB, in effect never
}

}  // namespace wb
