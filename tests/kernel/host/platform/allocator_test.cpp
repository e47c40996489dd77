#include "platform/allocator.hpp"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <c10/core/CPUAllocator.h>

namespace wb {
namespace {

constexpr size_t kMiB = size_t(1) << 20;

TEST(LargeBlockCache, AFreedLargeBlockServesTheNextRequestItFitsWithoutANewMapping) {
  LargeBlockCache cache(1024 * kMiB);
  void* first = nullptr;
  {
    auto a = cache.allocate(40 * kMiB);
    first = a.get();
    std::memset(first, 7, 40 * kMiB);  // mapped and writable to its last byte
    EXPECT_EQ(cache.maps(), 1u);
    EXPECT_EQ(cache.cached_bytes(), 0u);
  }
  EXPECT_EQ(cache.cached_bytes(), 40 * kMiB);
  {
    auto b = cache.allocate(40 * kMiB - 100);  // rounds up to the same 40 MiB
    EXPECT_EQ(b.get(), first);
    EXPECT_EQ(cache.cached_bytes(), 0u);
    auto c = cache.allocate(40 * kMiB);  // the one cached block is taken: a new one
    EXPECT_NE(c.get(), first);
    EXPECT_EQ(cache.maps(), 2u);
  }
  // Up to a quarter larger than asked is taken (34 MiB asked, 40 cached); more is not.
  auto d = cache.allocate(33 * kMiB);
  EXPECT_EQ(cache.maps(), 2u);
  EXPECT_EQ(cache.cached_bytes(), 40 * kMiB);
  auto e = cache.allocate(32 * kMiB);  // 40 MiB is exactly a quarter more: taken
  EXPECT_EQ(cache.maps(), 2u);
  {
    auto big = cache.allocate(100 * kMiB);
    EXPECT_EQ(cache.maps(), 3u);
  }
  auto f = cache.allocate(40 * kMiB);  // the cached 100 MiB block is far larger
  EXPECT_EQ(cache.maps(), 4u);
  EXPECT_EQ(cache.cached_bytes(), 100 * kMiB);
  cache.release_all();
  EXPECT_EQ(cache.cached_bytes(), 0u);
}

TEST(LargeBlockCache, SmallBlocksAreLibTorchsOwnAndNeverKept) {
  LargeBlockCache cache(1024 * kMiB);
  { auto a = cache.allocate(LargeBlockCache::kLargeBlock - 1); }
  EXPECT_EQ(cache.maps(), 0u);
  EXPECT_EQ(cache.cached_bytes(), 0u);
  // raw_deleter() frees what allocate() gave, small or large.
  void* small = cache.raw_allocate(1000);
  void* large = cache.raw_allocate(40 * kMiB);
  cache.raw_deallocate(small);
  cache.raw_deallocate(large);
  EXPECT_EQ(cache.cached_bytes(), 40 * kMiB);
  cache.release_all();
}

TEST(LargeBlockCache, KeepsNoMoreThanItsLimitAndUnmapsTheRest) {
  LargeBlockCache cache(50 * kMiB);
  {
    auto a = cache.allocate(40 * kMiB);
    auto b = cache.allocate(40 * kMiB);
  }
  EXPECT_EQ(cache.cached_bytes(), 40 * kMiB);  // the second did not fit under 50 MiB
  cache.release_all();
}

TEST(LargeBlockCache, InstalledItIsLibTorchsCpuAllocatorAndTensorsReuseItsBlocks) {
  keep_freed_memory();
  release_cached_memory();
  const void* first = nullptr;
  {
    auto a = torch::ones({16, 1024, 1024});  // 64 MiB of float32
    first = a.data_ptr();
    EXPECT_EQ(a.sum().item<double>(), 16.0 * 1024 * 1024);
  }
  auto b = torch::zeros({16, 1024, 1024});
  EXPECT_EQ(b.data_ptr(), first);  // the same block, and it reads as asked: zeros
  EXPECT_EQ(b.abs().sum().item<double>(), 0.0);
  auto small = torch::ones({8});
  EXPECT_EQ(small.sum().item<double>(), 8.0);
}

}  // namespace
}  // namespace wb
