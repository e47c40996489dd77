#pragma once
// Freed memory stays in the process for the next step. A training step or a feature
// pass allocates and frees the same large activations every time; memory given back to
// the kernel is faulted in anew, page by page, at its next use.
#include <cstddef>
#include <map>

#include <c10/core/Allocator.h>

namespace wb {

// Called once at a program's start (the CLI, the benchmarks):
//  - glibc's malloc serves blocks up to 32 MiB (its highest allowed mmap threshold) from
//    its heap and never trims the heap, rather than mapping each block above 128 KiB-32
//    MiB and unmapping it when freed (before this: 51k page faults and 0.74 s of a 3.39
//    s step of the second training benchmark size);
//  - LibTorch's CPU tensors above that size come from a LargeBlockCache, since glibc
//    maps and unmaps every one of those: in the feature pass at S2 (8 layers, width 256,
//    batch 32 of 1024 tokens, bfloat16) a (32768 x 1024) product's fresh 64 MiB output
//    made it take 45 ms where 16 ms went to the product itself.
void keep_freed_memory();

// Gives every block the cache holds back to the system: a run's start calls it, since
// the next run's shapes may differ and its memory check reads MemAvailable.
void release_cached_memory();

// LibTorch's CPU allocator for large blocks: a block of kLargeBlock bytes or more is
// mapped (2 MiB aligned, transparent huge pages asked for), and when its tensor dies it
// is kept for the next request it fits (at most a quarter larger than asked), up to
// `max_cached` bytes kept; smaller ones are LibTorch's own (c10::alloc_cpu). A mapping
// that fails empties the cache and is tried once more. It must outlive the tensors it
// made (keep_freed_memory's is never destroyed).
class LargeBlockCache final : public c10::Allocator {
 public:
  static constexpr size_t kLargeBlock = size_t(32) << 20;  // glibc's largest mmap threshold
  static constexpr size_t kGranule = size_t(2) << 20;      // sizes round up to huge pages

  explicit LargeBlockCache(size_t max_cached);
  ~LargeBlockCache() override;

  c10::DataPtr allocate(size_t n) override;
  c10::DeleterFnPtr raw_deleter() const override;
  void copy_data(void* dest, const void* src, size_t count) const override;

  void release_all();           // unmaps every cached block
  size_t cached_bytes() const;  // held for reuse, not in a tensor
  size_t maps() const;          // mappings made so far (each one faulted in anew)

 private:
  friend struct BlockRegistry;
  void* take(size_t bytes);          // a cached block of `bytes` or more, or nullptr
  void keep(void* p, size_t bytes);  // a block its tensor no longer holds
  void unmap_cached();               // release_all without the lock

  // Guarded by the one lock of every cache (allocator.cpp's BlockRegistry): the
  // deleter has only the pointer, so one table maps each block handed out to its
  // cache and size.
  size_t max_cached_, cached_ = 0, maps_ = 0;
  std::multimap<size_t, void*> free_;  // cached blocks by size
};

}  // namespace wb
