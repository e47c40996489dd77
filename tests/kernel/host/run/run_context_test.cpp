// The artifact cache's housekeeping: temporaries that a writer killed mid-write left
// behind are removed when the artifact's lock is next taken, and only those.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <workbench/atomic_file.hpp>

#include "run/run_context.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;

TEST(StoreArtifacts, TakingALockRemovesTheTemporariesOfDeadWritersOnThisMachineOnly) {
  wbtest::TempDir dir;
  wb::StoreArtifacts cache(dir / "artifacts", nullptr, 0);
  const std::string folder = cache.dir("checkpoints", "abc");
  // A process that has exited: its pid names no process (until reused, which takes
  // the kernel a full turn of the pid space).
  const pid_t child = fork();
  if (child == 0) _exit(0);
  ASSERT_GT(child, 0);
  waitpid(child, nullptr, 0);
  // Ours, with this machine's name in it (unique_temp_path), the pid swapped.
  const std::string ours = wb::unique_temp_path(folder + "/last.pt");
  const auto pid_at = ours.rfind('.', ours.rfind('.') - 1);
  const std::string host_part = ours.substr(0, pid_at);  // ".../last.pt.tmp.<host>"
  const std::string dead = fmt::format("{}.{}.0", host_part, child);
  const std::string alive = fmt::format("{}.{}.1", host_part, getpid());
  const std::string elsewhere = fmt::format("{}/last.pt.tmp.another-host.{}.2", folder, child);
  for (const auto& f : {dead, alive, elsewhere, folder + "/final.pt"}) std::ofstream(f) << "x";

  cache.lock("checkpoints", "abc");
  EXPECT_FALSE(fs::exists(dead));
  EXPECT_TRUE(fs::exists(alive));      // a live writer's
  EXPECT_TRUE(fs::exists(elsewhere));  // another machine's (a shared folder)
  EXPECT_TRUE(fs::exists(folder + "/final.pt"));
}
