// wb::write_atomically: readers see a whole file or none, a failed write leaves
// nothing behind, and writers of one file at once all succeed (issue 22: runs that
// shared a token cache or a checkpoint failed renaming each other's temporary file).
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include <workbench/atomic_file.hpp>
#include <workbench/error.hpp>

#include "test_support.hpp"

namespace fs = std::filesystem;

namespace {

size_t files_in(const std::string& dir) {
  return static_cast<size_t>(std::distance(fs::directory_iterator(dir), {}));
}

TEST(AtomicFile, TemporaryNamesDifferFromCallToCall) {
  EXPECT_NE(wb::unique_temp_path("/x/a.pt"), wb::unique_temp_path("/x/a.pt"));
  EXPECT_EQ(wb::unique_temp_path("/x/a.pt").rfind("/x/a.pt.tmp.", 0), 0u);
}

TEST(AtomicFile, AFailedWriteLeavesTheOldFileAndNoTemporary) {
  wbtest::TempDir dir;
  const std::string path = dir / "tokens.pt";
  wb::write_atomically(path, [](const std::string& tmp) { std::ofstream(tmp) << "old"; });
  EXPECT_THROW(wb::write_atomically(path,
                                    [](const std::string& tmp) {
                                      std::ofstream(tmp) << "half";
                                      throw std::runtime_error("disk full");
                                    }),
               std::runtime_error);
  EXPECT_EQ(wbtest::read_text(path), "old");
  EXPECT_EQ(files_in(dir.path), 1u);
}

TEST(AtomicFile, ConcurrentWritersOfOneFileAllSucceed) {
  wbtest::TempDir dir;
  const std::string path = dir / "last.pt";
  const std::string content(1 << 16, 'x');  // large enough for writes to overlap
  std::vector<std::thread> writers;
  std::atomic<int> failures{0};
  for (int w = 0; w < 8; ++w)
    writers.emplace_back([&] {
      for (int i = 0; i < 20; ++i) {
        try {
          wb::write_atomically(path,
                               [&](const std::string& tmp) { std::ofstream(tmp) << content; });
        } catch (...) {
          ++failures;
        }
      }
    });
  for (auto& t : writers) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(wbtest::read_text(path), content);
  EXPECT_EQ(files_in(dir.path), 1u);  // every temporary renamed away
}

// A full disk (/dev/full answers every write with ENOSPC) while saving a LibTorch
// archive is an error naming the file and the reason; the process goes on (LibTorch's
// own save_to(path) aborts it there).
TEST(AtomicFile, AFullDiskWhileSavingAnArchiveIsAnErrorNotAnAbort) {
  if (!fs::exists("/dev/full")) GTEST_SKIP() << "no /dev/full on this system";
  torch::serialize::OutputArchive ar;
  ar.write("weights", torch::randn({256, 256}));
  try {
    wb::save_archive(ar, "/dev/full");
    FAIL() << "a write to /dev/full succeeded";
  } catch (const wb::Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("/dev/full: cannot write"), std::string::npos) << msg;
    EXPECT_NE(msg.find("No space left on device"), std::string::npos) << msg;
  }
}

}  // namespace
