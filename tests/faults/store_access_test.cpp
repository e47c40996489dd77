// Commands that read a store never change it, whatever their input: a check file's SQL
// that writes is refused and the store stays byte-identical, as it does under every
// reading command. Counts, names and stores given by mistake are refused with what is
// wrong: out-of-range numbers, names that would become paths outside the store's
// folder, a store merged into itself, a store of a newer schema.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <workbench/checked_file.hpp>

#include "fault_support.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;

namespace {

// A finished run in dir/r.db, made once for the whole file (each test reads it only, or
// copies it).
struct Finished {
  Finished() {
    wbtest::write_pattern_dataset(dir / "data", 200, 100);
    std::ofstream(dir / "e.toml") << faults::experiment(dir / "data");
    std::string out;
    EXPECT_EQ(wbtest::run_cli(fmt::format("run {} --db {}", dir / "e.toml", db), &out), 0) << out;
  }
  wbtest::TempDir dir;
  std::string db = dir / "r.db";
};

const Finished& finished() {
  static const Finished f;
  return f;
}

// The store's bytes: the database file and its write-ahead log, where a write would
// land first. (The -shm file is an index of the log that readers may rebuild.)
std::string store_bytes(const std::string& db) {
  std::string all = wbtest::read_text(db);
  if (fs::exists(db + "-wal")) all += wbtest::read_text(db + "-wal");
  return wb::sha256_hex(all);
}

std::string cli(const std::string& args, int* code, const std::string& env = "") {
  std::string out;
  *code = wbtest::run_cli(args, &out, env);
  return out;
}

#define EXPECT_HAS(text, part) EXPECT_NE((text).find(part), std::string::npos) << (text)

}  // namespace

TEST(StoreAccess, ACheckFileCannotWriteTheStore) {
  const auto& f = finished();
  const std::string before = store_bytes(f.db);
  const std::vector<std::string> writes = {
      "DELETE FROM results", "UPDATE results SET value = 0.99 RETURNING value",
      "ATTACH DATABASE '" + (f.dir / "evil.db") + "' AS evil", "SELECT 1; DELETE FROM results",
      "WITH x AS (SELECT 1) DELETE FROM results"};
  for (size_t i = 0; i < writes.size(); ++i) {
    SCOPED_TRACE(writes[i]);
    const std::string file = f.dir / fmt::format("evil{}.checks.toml", i);
    std::ofstream(file) << fmt::format("[[check]]\nname = \"evil\"\nsql = \"{}\"\nmin = 0\n",
                                       writes[i]);
    int code = 0;
    const std::string out = cli(fmt::format("check {} --db {}", file, f.db), &code);
    EXPECT_NE(code, 0) << out;
    EXPECT_HAS(out, "check 'evil' (line 1)");
    EXPECT_EQ(store_bytes(f.db), before);
  }
  EXPECT_FALSE(fs::exists(f.dir / "evil.db"));
  EXPECT_NE(faults::one(f.db, "SELECT COUNT(*) FROM results"), "0");
}

TEST(StoreAccess, ACheckWhoseQueryGivesTextNamesTheCheckAndTheValue) {
  const auto& f = finished();
  const std::string file = f.dir / "text.checks.toml";
  std::ofstream(file) << "[[check]]\nname = \"label\"\nsql = \"SELECT label FROM runs\"\nmin = 0\n";
  int code = 0;
  const std::string out = cli(fmt::format("check {} --db {}", file, f.db), &code);
  EXPECT_NE(code, 0);
  EXPECT_HAS(out, "check 'label' (line 1): its query gave 'default', not a number");
}

TEST(StoreAccess, ReadingCommandsLeaveTheStoreByteIdentical) {
  const auto& f = finished();
  const std::string checks = f.dir / "ok.checks.toml";
  std::ofstream(checks) << "[[check]]\nname = \"runs\"\nsql = \"SELECT COUNT(*) FROM runs\"\n"
                           "min = 1\n";
  const std::string before = store_bytes(f.db);
  for (const std::string& args :
       std::vector<std::string>{"results", "results show 1", "results table faults",
                                "check " + checks, "report faults"}) {
    int code = 0;
    const std::string out = cli(fmt::format("{} --db {}", args, f.db), &code);
    EXPECT_EQ(code, 0) << args << "\n" << out;
    EXPECT_EQ(store_bytes(f.db), before) << args;
  }
}

TEST(StoreAccess, CountsOutOfTheirRangeAreRefusedWithTheRange) {
  const auto& f = finished();
  int code = 0;
  std::string out = cli(
      fmt::format("run {} --db {} --set experiment.threads=100000", f.dir / "e.toml", f.db), &code);
  EXPECT_NE(code, 0);
  EXPECT_HAS(out, "[experiment] key 'threads' = 100000 is out of range [0, ");
  const std::string sample = fmt::format("sample {} --db {} ", f.dir / "e.toml", f.db);
  out = cli(sample + "--scale 100000", &code);
  EXPECT_NE(code, 0);
  EXPECT_HAS(out, "--scale: 100000 is out of range [0, 64]");
  out = cli(sample + "--temperature nan", &code);
  EXPECT_NE(code, 0);
  EXPECT_HAS(out, "--temperature: nan is not a finite number");
  out = cli(sample + "--temperature 0", &code);
  EXPECT_NE(code, 0);
  EXPECT_HAS(out, "--temperature: 0 is out of range [0.001, 100]");
  out = cli(sample + "--images 0", &code);
  EXPECT_NE(code, 0);
  EXPECT_HAS(out, "--images: 0 is out of range [1, 1024]");
}

TEST(StoreAccess, NamesThatWouldBecomePathsOutsideTheStoreAreRefused) {
  const auto& f = finished();
  int code = 0;
  std::string out = cli(fmt::format("run {} --db {} --set experiment.name=../../../../tmp/x/escape",
                                    f.dir / "e.toml", f.db),
                        &code);
  EXPECT_NE(code, 0);
  EXPECT_HAS(out, "--set experiment.name");
  EXPECT_HAS(out, "[experiment] key 'name' = '../../../../tmp/x/escape' holds a path separator");
  // A variant's name, and a NUL in the experiment's (TOML allows \u0000 in strings).
  std::ofstream(f.dir / "variants.toml")
      << faults::experiment(f.dir / "data") + "\n" +
             "[variants.a.training]\nsteps = 2\n[variants.\"b/../../c\".training]\nsteps = 3\n";
  out = cli(fmt::format("run {} --db {} --dry-run", f.dir / "variants.toml", f.db), &code);
  EXPECT_NE(code, 0);
  EXPECT_HAS(out, "variant name 'b/../../c' holds a path separator");
  {
    std::string text = faults::experiment(f.dir / "data");
    text.replace(text.find("name = \"faults\""), 15, "name = \"fau\\u0000lts\"");
    std::ofstream(f.dir / "nul.toml") << text;
  }
  out = cli(fmt::format("run {} --db {} --dry-run", f.dir / "nul.toml", f.db), &code);
  EXPECT_NE(code, 0);
  EXPECT_HAS(out, "key 'name' = 'fau\\x00lts' holds a control character");
  out = cli(fmt::format("report ../../x --db {}", f.db), &code);
  EXPECT_NE(code, 0);
  EXPECT_HAS(out, "experiment name '../../x' holds a path separator");
}

TEST(StoreAccess, SamplesGoBesideTheStoreNotUnderTheCurrentFolder) {
  const auto& f = finished();
  wbtest::TempDir elsewhere;  // the current directory of the command
  const std::string log = elsewhere / "sample.log";
  const int status = std::system(
      fmt::format(
          "cd {} && {} sample {} --db {} --images 2 --samples 1 --unconditional 0 > {} 2>&1",
          elsewhere.path, WB_TEST_CLI, f.dir / "e.toml", f.db, log)
          .c_str());
  const std::string out = wbtest::read_text(log);
  EXPECT_EQ(status, 0) << out;
  EXPECT_HAS(out, f.dir.path + "/reports/faults/samples-");
  EXPECT_FALSE(fs::exists(elsewhere / "results"));
}

TEST(StoreAccess, AStoreIsNotMergedIntoItself) {
  const auto& f = finished();
  wbtest::TempDir dir;
  fs::copy_file(f.db, dir / "r.db");
  fs::create_symlink(dir / "r.db", dir / "link.db");
  for (const std::string& from : std::vector<std::string>{dir / "r.db", dir / "link.db"}) {
    int code = 0;
    const std::string out = cli(fmt::format("results --db {} merge {}", dir / "r.db", from), &code);
    EXPECT_NE(code, 0);
    EXPECT_HAS(out, from + ": is the store being merged into");
  }
  // A damaged store to merge in is named as the damaged one.
  fs::copy_file(f.db, dir / "bad.db");
  {
    std::fstream b(dir / "bad.db", std::ios::in | std::ios::out | std::ios::binary);
    b.seekp(4096);  // page 2, a table's root page, overwritten whole
    b << std::string(4096, '\x55');
  }
  int code = 0;
  const std::string out =
      cli(fmt::format("results --db {} merge {}", dir / "into.db", dir / "bad.db"), &code);
  EXPECT_NE(code, 0) << out;
  EXPECT_HAS(out, dir / "bad.db");
}

TEST(StoreAccess, ReportChecksTheSchemaAndSaysWhyItsPythonFailed) {
  const auto& f = finished();
  wbtest::TempDir dir;
  fs::copy_file(f.db, dir / "new.db");
  {
    wb::Store s(dir / "new.db");
    s.exec("PRAGMA user_version = 999");
  }
  int code = 0;
  std::string out = cli(fmt::format("report faults --db {}", dir / "new.db"), &code);
  EXPECT_NE(code, 0);
  EXPECT_HAS(out, "schema version 999, newer than this workbench's");
  out = cli(fmt::format("report faults --db {}", f.db), &code, "WORKBENCH_PYTHON=/bin/false");
  EXPECT_NE(code, 0);
  EXPECT_HAS(out, "report: /bin/false");
  EXPECT_HAS(out, "exited with status 1");
}
