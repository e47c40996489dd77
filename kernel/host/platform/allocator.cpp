#include "platform/allocator.hpp"

#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <mutex>
#include <unordered_map>

#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>
#include <c10/util/Exception.h>

namespace wb {

// The large blocks handed out, of every cache, under one lock: a DataPtr's deleter gets
// only the pointer (its context is the pointer itself, as LibTorch's own allocator
// makes them, so nothing takes them for anything unusual).
struct BlockRegistry {
  struct Owner {
    LargeBlockCache* cache;
    size_t bytes;
  };
  std::mutex mutex;
  std::unordered_map<void*, Owner> in_use;

  static BlockRegistry& get() {
    static auto* r = new BlockRegistry;  // never destroyed: tensors may outlive main()
    return *r;
  }

  // Hands a large block back to its cache; false when `p` is none of the large blocks
  // handed out (then it is a small one, or freed twice).
  static bool release_if_large(void* p) {
    auto& r = get();
    std::lock_guard<std::mutex> lock(r.mutex);
    auto it = r.in_use.find(p);
    if (it == r.in_use.end()) return false;
    const auto owner = it->second;
    r.in_use.erase(it);
    c10::profiledCPUMemoryReporter().Delete(p);
    owner.cache->keep(p, owner.bytes);
    return true;
  }

  // The deleter of a large block.
  static void release(void* p) {
    const bool large = release_if_large(p);
    TORCH_INTERNAL_ASSERT(large, "a large block freed twice or never handed out");
  }
};

namespace {

size_t round_up(size_t n, size_t to) {
  return (n + to - 1) / to * to;
}

// A mapping of `bytes` (a multiple of kGranule) starting on a kGranule boundary, so
// that the kernel can back it with transparent huge pages (where they are set to
// `madvise` or `always`); nullptr when the system has no memory left.
void* map_aligned(size_t bytes) {
  const size_t span = bytes + LargeBlockCache::kGranule;
  void* raw = mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return nullptr;
  const auto start = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t aligned = round_up(start, LargeBlockCache::kGranule);
  if (aligned > start) munmap(raw, aligned - start);
  const uintptr_t end = start + span, used_end = aligned + bytes;
  if (end > used_end) munmap(reinterpret_cast<void*>(used_end), end - used_end);
  void* p = reinterpret_cast<void*>(aligned);
  madvise(p, bytes, MADV_HUGEPAGE);  // a hint: refused where huge pages are off
  return p;
}

// A small block: as LibTorch's default allocator makes it.
void release_small(void* p) {
  c10::profiledCPUMemoryReporter().Delete(p);
  c10::free_cpu(p);
}

// raw_deleter(): one function for whatever allocate() returned, in one lookup.
void release_any(void* p) {
  if (p != nullptr && !BlockRegistry::release_if_large(p)) release_small(p);
}

}  // namespace

LargeBlockCache::LargeBlockCache(size_t max_cached) : max_cached_(max_cached) {}

LargeBlockCache::~LargeBlockCache() {
  std::lock_guard<std::mutex> lock(BlockRegistry::get().mutex);
  unmap_cached();
}

c10::DataPtr LargeBlockCache::allocate(size_t n) {
  const c10::Device cpu(c10::DeviceType::CPU);
  if (n < kLargeBlock) {
    void* p = c10::alloc_cpu(n);
    c10::profiledCPUMemoryReporter().New(p, n);
    return {p, p, &release_small, cpu};
  }
  const size_t bytes = round_up(n, kGranule);
  auto& r = BlockRegistry::get();
  std::unique_lock<std::mutex> lock(r.mutex);
  void* p = take(bytes);
  if (p == nullptr) {
    p = map_aligned(bytes);
    if (p == nullptr) {  // the cache's blocks may be what the system lacks
      unmap_cached();
      p = map_aligned(bytes);
    }
    TORCH_CHECK_WITH(OutOfMemoryError, p != nullptr, "not enough memory for a CPU tensor of ", n,
                     " bytes (the workbench's LargeBlockCache held none to give back)");
    ++maps_;
  }
  r.in_use[p] = {this, bytes};
  lock.unlock();
  c10::profiledCPUMemoryReporter().New(p, n);
  return {p, p, &BlockRegistry::release, cpu};
}

c10::DeleterFnPtr LargeBlockCache::raw_deleter() const {
  return &release_any;
}

void LargeBlockCache::copy_data(void* dest, const void* src, size_t count) const {
  default_copy_data(dest, src, count);
}

void* LargeBlockCache::take(size_t bytes) {
  auto it = free_.lower_bound(bytes);
  if (it == free_.end() || it->first > bytes + bytes / 4) return nullptr;
  void* p = it->second;
  cached_ -= it->first;
  free_.erase(it);
  return p;
}

void LargeBlockCache::keep(void* p, size_t bytes) {
  if (cached_ + bytes > max_cached_) {
    munmap(p, bytes);
    return;
  }
  free_.emplace(bytes, p);
  cached_ += bytes;
}

void LargeBlockCache::unmap_cached() {
  for (const auto& [bytes, p] : free_) munmap(p, bytes);
  free_.clear();
  cached_ = 0;
}

void LargeBlockCache::release_all() {
  std::lock_guard<std::mutex> lock(BlockRegistry::get().mutex);
  unmap_cached();
}

size_t LargeBlockCache::cached_bytes() const {
  std::lock_guard<std::mutex> lock(BlockRegistry::get().mutex);
  return cached_;
}

size_t LargeBlockCache::maps() const {
  std::lock_guard<std::mutex> lock(BlockRegistry::get().mutex);
  return maps_;
}

namespace {
LargeBlockCache* installed = nullptr;  // LibTorch owns it once set
}

void keep_freed_memory() {
  // Below the cache's blocks, glibc's heap (kLargeBlock is its maximum threshold).
  mallopt(M_MMAP_THRESHOLD, int(LargeBlockCache::kLargeBlock));
  mallopt(M_TRIM_THRESHOLD, 1 << 30);  // an int: 1 GiB, in effect never
  if (installed != nullptr) return;
  // At most a quarter of the machine's memory kept unused; a step's activations are
  // far less on any setting the memory check lets through.
  const size_t physical = size_t(sysconf(_SC_PHYS_PAGES)) * size_t(sysconf(_SC_PAGESIZE));
  installed = new LargeBlockCache(physical / 4);
  c10::SetCPUAllocator(installed, /*priority=*/1);  // above LibTorch's default (0)
}

void release_cached_memory() {
  if (installed != nullptr) installed->release_all();
}

}  // namespace wb
