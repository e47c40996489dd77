// The memory check before training: the estimate grows with the batch, a setting that
// does not fit is refused naming where it would run (this machine, or the GPU whose free
// memory was read), and what it has.
#include <gtest/gtest.h>

#include <torch/cuda.h>

#include "run/memory_guard.hpp"

TEST(MemoryGuard, TheEstimateGrowsWithTheMicroBatchAndATooLargeOneIsRefusedWithTheFigures) {
  // 2 layers of width 32, 1024 tokens, a palette of 16.
  const auto small = wb::estimate_training_memory(30000, 2, 32, 8, 1024, 16);
  const auto large = wb::estimate_training_memory(30000, 2, 32, 800, 1024, 16);
  EXPECT_DOUBLE_EQ(large.weights, small.weights);
  EXPECT_DOUBLE_EQ(large.activations, 100 * small.activations);
  EXPECT_EQ(wb::memory_problem(small, int64_t(1) << 30, "this machine", 8, 1024), "");

  const std::string problem =
      wb::memory_problem(large, int64_t(1) << 30, "device cuda:0", 800, 1024);
  EXPECT_NE(problem.find("device cuda:0 has 1.1 GB available"), std::string::npos) << problem;
  EXPECT_NE(problem.find("800 sequences of 1024 tokens"), std::string::npos) << problem;
  EXPECT_NE(problem.find("experiment.memory_check = false"), std::string::npos) << problem;
  // Memory that cannot be read refuses nothing.
  EXPECT_EQ(wb::memory_problem(large, -1, "this machine", 800, 1024), "");
}

TEST(MemoryGuard, ReadsTheMachinesAvailableMemoryAndTheGpusWhenThereIsOne) {
  EXPECT_GT(wb::available_memory(torch::kCPU), int64_t(1) << 20);
  if (torch::cuda::is_available()) {
    EXPECT_GT(wb::available_memory(torch::Device(torch::kCUDA, 0)), int64_t(1) << 20);
  }
}
