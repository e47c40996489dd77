// Cached artifacts that are damaged, stale or not the store's own: none of them may
// produce a recorded result. A checkpoint, token cache or feature file whose bytes
// changed since they were written (the same size: a flipped bit, not a truncation) is
// remade with a warning naming it, and the run records what a clean run records; a
// data file edited in place (size and modification time restored) makes new tokens,
// hence a new checkpoint and new results; symbolic links out of the artifacts folder
// are refused, never followed.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include <workbench/checked_file.hpp>

#include "fault_support.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;

namespace {

// The one file called `name` under `dir` (an artifact folder of some key).
std::string find_file(const std::string& dir, const std::string& name) {
  std::string found;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.path().filename() == name) {
      EXPECT_TRUE(found.empty()) << "two files called " << name << " under " << dir;
      found = e.path().string();
    }
  EXPECT_FALSE(found.empty()) << "no " << name << " under " << dir;
  return found;
}

// XORs `n` bytes in the middle of `path`: same size, other content.
void damage(const std::string& path, int64_t n) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(0, std::ios::end);
  const int64_t size = f.tellg();
  ASSERT_GT(size, n) << path;
  std::string bytes(static_cast<size_t>(n), '\0');
  f.seekg(size / 2);
  f.read(bytes.data(), n);
  for (auto& c : bytes) c = static_cast<char>(c ^ 0x5a);
  f.seekp(size / 2);
  f.write(bytes.data(), n);
}

// The newest run's results and final validation figures: what its tables and reports
// read.
std::string latest(const std::string& db) {
  wb::Store store(db);
  std::string out;
  const std::string newest = "(SELECT MAX(run_id) FROM latest_runs)";
  store.query("SELECT evaluator, metric, layer, split, value FROM latest_results WHERE run_id = " +
                  newest + " ORDER BY evaluator, metric, layer, split",
              {}, [&](auto&, const auto& v) {
                out += fmt::format("{} {} {} {} = {}\n", v[0], v[1], v[2], v[3], v[4]);
              });
  store.query("SELECT name, value FROM metrics WHERE name LIKE 'train/final_val_%' AND run_id = " +
                  newest + " ORDER BY name",
              {}, [&](auto&, const auto& v) { out += fmt::format("{} = {}\n", v[0], v[1]); });
  return out;
}

// An experiment over a small dataset in a temp folder, run once into r.db.
struct Ran {
  explicit Ran(bool gzip = true) {
    wbtest::write_pattern_dataset(dir / "data", 200, 100, gzip);
    std::ofstream(dir / "e.toml") << faults::experiment(dir / "data");
    EXPECT_EQ(run(""), 0) << out;
    want = latest(db);
    EXPECT_FALSE(want.empty());
  }
  int run(const std::string& flags) {
    return wbtest::run_cli(fmt::format("run {} --db {} {}", dir / "e.toml", db, flags), &out);
  }
  std::string artifact(const std::string& kind, const std::string& name) {
    return find_file(dir / ("artifacts/" + kind), name);
  }
  bool said(const std::string& text) const { return out.find(text) != std::string::npos; }
  wbtest::TempDir dir;
  std::string db = dir / "r.db", out, want;
};

}  // namespace

TEST(Artifacts, ADamagedOrUnrecordedFinalCheckpointIsRetrainedNotReused) {
  Ran r;
  const std::string final_pt = r.artifact("checkpoints", "final.pt");
  const std::string clean = wb::sha256_file(final_pt);
  damage(final_pt, 64);
  ASSERT_EQ(r.run("--force"), 0) << r.out;
  EXPECT_EQ(wb::sha256_file(final_pt), clean);  // trained again: the same weights
  EXPECT_TRUE(r.said(final_pt + ": its content changed since it was written")) << r.out;
  EXPECT_FALSE(r.said("reusing checkpoint")) << r.out;
  EXPECT_EQ(latest(r.db), r.want);
  EXPECT_EQ(faults::one(r.db,
                        "SELECT COUNT(DISTINCT value) FROM metrics WHERE name = "
                        "'train/final_val_loss'"),
            "1");
  // Truncated (a copy cut short): the same.
  fs::resize_file(final_pt, fs::file_size(final_pt) / 2);
  ASSERT_EQ(r.run("--force"), 0) << r.out;
  EXPECT_TRUE(r.said(final_pt + ": its content changed since it was written")) << r.out;
  EXPECT_EQ(wb::sha256_file(final_pt), clean);
  // A checkpoint without its checksum record (a cache of an older workbench, a copy)
  // is not trusted either.
  fs::remove(wb::checksum_path(final_pt));
  ASSERT_EQ(r.run("--force"), 0) << r.out;
  EXPECT_TRUE(r.said(final_pt + ": has no checksum record")) << r.out;
  EXPECT_EQ(latest(r.db), r.want);
}

TEST(Artifacts, DamagedFeaturesAreExtractedAgain) {
  Ran r;
  const std::string features = r.artifact("features", "pooled_features.pt");
  const std::string clean = wb::sha256_file(features);
  damage(features, 64);
  ASSERT_EQ(r.run("--force"), 0) << r.out;
  EXPECT_EQ(wb::sha256_file(features), clean);  // extracted again: the same features
  EXPECT_TRUE(r.said(features + ": its content changed since it was written")) << r.out;
  EXPECT_EQ(latest(r.db), r.want);
}

TEST(Artifacts, DamagedTokensAreEncodedAgainBeforeANewPretraining) {
  Ran r;
  const std::string tokens = r.artifact("tokens", "tokens.pt");
  const std::string clean = wb::sha256_file(tokens);
  damage(tokens, 64);
  ASSERT_EQ(r.run("--set training.steps=11"), 0) << r.out;
  EXPECT_TRUE(r.said(tokens + ": its content changed since it was written")) << r.out;
  EXPECT_EQ(wb::sha256_file(tokens), clean);  // made again from the data: the same tokens
  // Trained on those: the same results as a store that never saw the damage.
  wbtest::TempDir other;
  std::string out;
  ASSERT_EQ(wbtest::run_cli(fmt::format("run {} --db {} --set training.steps=11", r.dir / "e.toml",
                                        other / "r.db"),
                            &out),
            0)
      << out;
  EXPECT_EQ(latest(r.db), latest(other / "r.db"));
}

// What kill -9 during a write, or a disk that lost the last write, leaves: a damaged
// or zero-byte last.pt. The pretraining starts again (saying so) rather than resuming
// from it or failing with LibTorch's C++ frames in runs.error.
TEST(Artifacts, ADamagedOrZeroByteLastCheckpointRestartsThePretraining) {
  for (const bool zero : {false, true}) {
    SCOPED_TRACE(zero ? "zero bytes" : "damaged");
    Ran r;
    const std::string final_pt = r.artifact("checkpoints", "final.pt");
    const std::string last = r.artifact("checkpoints", "last.pt");
    fs::remove(final_pt);  // as if killed before the pretraining ended
    if (zero)
      fs::resize_file(last, 0);
    else
      damage(last, 256);
    ASSERT_EQ(r.run("--force"), 0) << r.out;
    EXPECT_TRUE(r.said(last + ": ")) << r.out;
    EXPECT_TRUE(r.said("remaking it: the pretraining starts again from step 0")) << r.out;
    EXPECT_FALSE(r.said("resuming from")) << r.out;
    EXPECT_EQ(latest(r.db), r.want);
    EXPECT_EQ(faults::one(r.db, "SELECT COUNT(*) FROM runs WHERE IFNULL(error, '') != ''"), "0");
  }
}

// The data edited in place, size and modification time restored: new tokens, so the
// finished run is not skipped and no checkpoint, feature or result of the old data is
// reused; the results equal a clean run's on the edited data.
TEST(Artifacts, ADataFileEditedInPlaceRemakesEverythingDownstream) {
  Ran r(/*gzip=*/false);
  const std::string images = r.dir / "data/train-images-idx3-ubyte";
  struct stat before {};
  ASSERT_EQ(::stat(images.c_str(), &before), 0);
  {
    std::fstream f(images, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(16);  // past the header: the first 100 images turned negative
    std::string pixels(100 * 28 * 28, '\0');
    f.read(pixels.data(), std::streamsize(pixels.size()));
    for (auto& c : pixels) c = static_cast<char>(255 - static_cast<unsigned char>(c));
    f.seekp(16);
    f.write(pixels.data(), std::streamsize(pixels.size()));
  }
  const timespec times[2] = {before.st_atim, before.st_mtim};
  ASSERT_EQ(::utimensat(AT_FDCWD, images.c_str(), times, 0), 0);
  ASSERT_EQ(fs::file_size(images), static_cast<uintmax_t>(before.st_size));

  ASSERT_EQ(r.run(""), 0) << r.out;
  EXPECT_TRUE(r.said("running it again")) << r.out;
  EXPECT_FALSE(r.said("reusing checkpoint")) << r.out;
  EXPECT_FALSE(r.said("features: reusing")) << r.out;
  wbtest::TempDir clean;
  std::string out;
  ASSERT_EQ(wbtest::run_cli(fmt::format("run {} --db {}", r.dir / "e.toml", clean / "r.db"), &out),
            0)
      << out;
  EXPECT_EQ(latest(r.db), latest(clean / "r.db"));
  EXPECT_NE(latest(r.db), r.want);
}

TEST(Artifacts, SymbolicLinksOutOfTheArtifactsFolderAreRefusedNotFollowed) {
  Ran r;
  const fs::path outside = r.dir / "outside";
  fs::create_directories(outside);
  {
    // final.pt a link to a file elsewhere: not read; the link (not its target) is
    // replaced by a checkpoint of the store's own.
    const std::string final_pt = r.artifact("checkpoints", "final.pt");
    fs::rename(final_pt, outside / "final.pt");
    const std::string target_sha = wb::sha256_file(outside / "final.pt");
    fs::create_symlink(outside / "final.pt", final_pt);
    ASSERT_EQ(r.run("--force"), 0) << r.out;
    EXPECT_TRUE(r.said(final_pt + ": is a symbolic link")) << r.out;
    EXPECT_FALSE(fs::is_symlink(final_pt));
    EXPECT_EQ(wb::sha256_file(outside / "final.pt"), target_sha);
    EXPECT_EQ(latest(r.db), r.want);
  }
  {
    // A dangling .lock link: opening it must not create its target.
    const std::string lock = fs::path(r.artifact("tokens", "tokens.pt")).parent_path() / ".lock";
    fs::remove(lock);
    fs::create_symlink(outside / "made.lock", lock);
    EXPECT_NE(r.run("--force"), 0) << r.out;
    EXPECT_TRUE(r.said(lock + ": cannot open lock file: it is a symbolic link")) << r.out;
    EXPECT_FALSE(fs::exists(outside / "made.lock"));
    fs::remove(lock);
  }
  {
    // A checkpoint folder that is a link out of the tree.
    const fs::path folder = fs::path(r.artifact("checkpoints", "final.pt")).parent_path();
    fs::rename(folder, outside / "ckpt");
    fs::create_directory_symlink(outside / "ckpt", folder);
    EXPECT_NE(r.run("--force"), 0) << r.out;
    EXPECT_TRUE(r.said("leads out of the artifacts folder")) << r.out;
  }
}

// The same config started three times at once into one store: one trains and records,
// the others wait for it and find it finished.
TEST(Artifacts, ConcurrentRunsOfOneConfigLeaveOneFinishedRun) {
  wbtest::TempDir dir;
  wbtest::write_pattern_dataset(dir / "data", 200, 100);
  std::ofstream(dir / "e.toml") << faults::experiment(dir / "data");
  std::vector<std::string> outputs(3);
  std::vector<int> codes(3, -1);
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i)
    threads.emplace_back([&, i] {
      codes[i] =
          wbtest::run_cli(fmt::format("run {} --db {}", dir / "e.toml", dir / "r.db"), &outputs[i]);
    });
  for (auto& t : threads) t.join();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(codes[i], 0) << outputs[i];
  EXPECT_EQ(faults::one(dir / "r.db", "SELECT COUNT(*) FROM runs"), "1");
  EXPECT_EQ(faults::one(dir / "r.db", "SELECT COUNT(*) FROM runs WHERE status = 'finished'"), "1");
}
