// What links libworkbench compiles with OpenMP (kernel/CMakeLists.txt): LibTorch's
// at::parallel_for is inline and divides its range among threads only where _OPENMP
// is defined, so without it every loop of ours ran on one thread while LibTorch's
// used every core.
#include <gtest/gtest.h>

#include <ATen/Parallel.h>

#include <cstdio>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include <fmt/format.h>

namespace {

// This file links libworkbench as a plugin does (workbench::workbench's interface).
TEST(Parallel, ParallelForInCodeThatLinksTheSdkRunsOnSeveralThreads) {
  const int before = at::get_num_threads();
  at::set_num_threads(2);
  std::mutex m;
  std::set<std::thread::id> threads;
  at::parallel_for(0, 2, 1, [&](int64_t, int64_t) {
    std::lock_guard<std::mutex> lock(m);
    threads.insert(std::this_thread::get_id());
  });
  at::set_num_threads(before);
  EXPECT_EQ(threads.size(), 2u) << "at::parallel_for ran on one thread: built without OpenMP";
}

// The bundled plugins whose kernels call at::parallel_for take OpenMP's parallel
// regions from the one libgomp LibTorch loads.
TEST(Parallel, BundledPluginsWithParallelLoopsCallOpenMp) {
  for (const std::string name : {"igpt", "kmeans"}) {
    const std::string lib = fmt::format("{}/libwb_{}.so", WB_TEST_PLUGIN_DIR, name);
    FILE* nm = popen(("nm -D --undefined-only " + lib + " 2>&1").c_str(), "r");
    ASSERT_NE(nm, nullptr);
    std::string symbols;
    char buf[4096];
    while (size_t n = fread(buf, 1, sizeof buf, nm)) symbols.append(buf, n);
    pclose(nm);
    EXPECT_NE(symbols.find("GOMP_parallel"), std::string::npos) << lib << ":\n" << symbols;
  }
}

}  // namespace
