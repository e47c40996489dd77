// A plugin's identity (code_sha256) against what `cmake --install` does to its file:
// the run path string rewritten in place, the rest of its room padded with NULs.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include <workbench/checked_file.hpp>

#include "plugins/code_identity.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;

namespace {

std::string read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

void write_bytes(const fs::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary | std::ios::trunc) << bytes;
}

}  // namespace

TEST(PluginIdentity, SurvivesARewrittenRunPathButNotAChangedByte) {
  wbtest::TempDir dir;
  const fs::path built = fs::path(WB_TEST_PLUGIN_DIR) / "libwb_grey.so";
  std::string bytes = read_bytes(built);
  // The build tree's run path names libworkbench's folder, <build>/kernel.
  const fs::path build_dir = fs::path(WB_TEST_PLUGIN_DIR).parent_path().parent_path().parent_path();
  const auto at = bytes.find((build_dir / "kernel").string());
  ASSERT_NE(at, std::string::npos) << "no run path naming " << build_dir / "kernel";
  const auto begin = bytes.rfind('\0', at) + 1, end = bytes.find('\0', at);
  const std::string installed_path = "$ORIGIN/../..";
  ASSERT_LT(installed_path.size(), end - begin);

  std::string installed = bytes;
  installed.replace(begin, end - begin,
                    installed_path + std::string(end - begin - installed_path.size(), '\0'));
  write_bytes(fs::path(dir.path) / "installed.so", installed);
  std::string changed = bytes;
  changed[bytes.size() / 2] ^= 1;  // one byte of code or data, outside the run path
  write_bytes(fs::path(dir.path) / "changed.so", changed);

  const std::string code = wb::code_sha256(built.string());
  EXPECT_NE(wb::sha256_file((fs::path(dir.path) / "installed.so").string()),
            wb::sha256_file(built.string()));
  EXPECT_EQ(wb::code_sha256((fs::path(dir.path) / "installed.so").string()), code);
  EXPECT_NE(wb::code_sha256((fs::path(dir.path) / "changed.so").string()), code);
}

TEST(PluginIdentity, AFileWithoutElfHeadersIsHashedWhole) {
  wbtest::TempDir dir;
  write_bytes(fs::path(dir.path) / "text.so", "not a library");
  EXPECT_EQ(wb::code_sha256((fs::path(dir.path) / "text.so").string()),
            wb::sha256_file((fs::path(dir.path) / "text.so").string()));
}
