// A full disk under the artifacts, while the tokens are written and while a checkpoint
// is: the run fails with the file and the space left named, is marked failed (not left
// "running"), the command exits 1 (no abort), and no temporary file stays behind.
// Needs a small tmpfs: mounted when the tests run as root, skipped otherwise.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "fault_support.hpp"
#include "test_support.hpp"

namespace {

// A tmpfs of `bytes` at `dir`, unmounted when this goes.
struct SmallDisk {
  SmallDisk(const std::string& dir, int64_t bytes) : dir(dir) {
    std::filesystem::create_directories(dir);
    mounted = ::mount("tmpfs", dir.c_str(), "tmpfs", 0, fmt::format("size={}", bytes).c_str()) == 0;
  }
  ~SmallDisk() {
    if (mounted) ::umount(dir.c_str());
  }
  std::string dir;
  bool mounted = false;
};

}  // namespace

TEST(DiskFull, WritingTokensOrACheckpointOnAFullDiskFailsTheRunCleanly) {
  if (geteuid() != 0) GTEST_SKIP() << "mounting a small tmpfs needs root";
  wbtest::TempDir dir;
  wbtest::write_pattern_dataset(dir / "data", 200, 100);
  std::ofstream(dir / "e.toml") << faults::experiment(dir / "data");
  // 48 KiB: not even the tokens fit (about 200 KB). 320 KiB: the tokens do, the
  // model's resumable checkpoint (weights and Adam state, about 330 KB) does not.
  for (const auto& [bytes, file] :
       {std::pair<int64_t, std::string>{48 << 10, "tokens.pt"}, {320 << 10, "last.pt"}}) {
    SmallDisk disk(dir / fmt::format("disk{}", bytes), bytes);
    if (!disk.mounted) GTEST_SKIP() << "cannot mount a tmpfs here";
    const std::string db = dir / fmt::format("store{}/r.db", bytes);
    std::string out;
    const int rc = wbtest::run_cli(
        fmt::format("run {} --db {} --artifacts {}", dir / "e.toml", db, disk.dir), &out);
    EXPECT_EQ(rc, 1) << out;  // an exit, not a signal (134 is an abort)
    EXPECT_NE(out.find(file + ".tmp."), std::string::npos) << out;
    EXPECT_NE(out.find("No space left on device"), std::string::npos) << out;
    EXPECT_NE(out.find("free on that file system"), std::string::npos) << out;
    EXPECT_EQ(faults::one(db, "SELECT status FROM runs WHERE id = 1"), "failed");
    EXPECT_NE(faults::one(db, "SELECT error FROM runs WHERE id = 1").find("No space left"),
              std::string::npos);
    EXPECT_EQ(faults::temporaries(disk.dir), 0);
  }
}
