// wb::write_checked and wb::checked_problem: a file is trusted when its content has a
// checksum its record accepts, and overwriting a checked file never leaves a moment
// where neither the old file nor the new one would be trusted.
#include <gtest/gtest.h>

#include <fstream>

#include <workbench/atomic_file.hpp>
#include <workbench/checked_file.hpp>

#include "test_support.hpp"

namespace {

void write_text(const std::string& path, const std::string& text) {
  wb::write_checked(path, [&](const std::string& tmp) { std::ofstream(tmp) << text; });
}

TEST(CheckedFile, AWrittenFileIsTrustedAndAChangedOneIsNot) {
  wbtest::TempDir dir;
  const std::string path = dir / "last.pt";
  write_text(path, "step 1");
  EXPECT_EQ(wb::checked_problem(path), "");
  std::ofstream(path) << "step 2";  // changed behind the record's back
  EXPECT_NE(wb::checked_problem(path).find("content changed"), std::string::npos);
}

// What a process killed while overwriting leaves, whichever side of the file's rename it
// died on: the record then accepts the old checksum and the new one, and the file is one
// of the two. Either is trusted; any other content is not. Once the write completes the
// record accepts the new file alone.
TEST(CheckedFile, WhileAFileIsSwappedItsRecordAcceptsTheOldAndTheNewOnly) {
  wbtest::TempDir dir;
  const std::string path = dir / "last.pt";
  write_text(path, "step 1");
  const std::string old_record = wbtest::read_text(wb::checksum_path(path));
  write_text(path, "step 2");
  const std::string new_record = wbtest::read_text(wb::checksum_path(path));
  EXPECT_EQ(new_record.find('\n'), new_record.size() - 1) << "one line: " << new_record;
  // The record during the swap: the old checksum's line, then the new one's.
  wb::write_atomically(wb::checksum_path(path), [&](const std::string& tmp) {
    std::ofstream(tmp) << old_record << new_record;
  });
  EXPECT_EQ(wb::checked_problem(path), "");  // the new file, just renamed in
  wb::write_atomically(path, [](const std::string& tmp) { std::ofstream(tmp) << "step 1"; });
  EXPECT_EQ(wb::checked_problem(path), "");  // the old one, not yet replaced
  wb::write_atomically(path, [](const std::string& tmp) { std::ofstream(tmp) << "step 3"; });
  EXPECT_NE(wb::checked_problem(path), "");
  // A completed write: only its own content.
  write_text(path, "step 4");
  wb::write_atomically(path, [](const std::string& tmp) { std::ofstream(tmp) << "step 2"; });
  EXPECT_NE(wb::checked_problem(path), "");
}

}  // namespace
