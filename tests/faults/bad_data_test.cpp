// Dataset files that hold more, or other, than they say, run through `workbench run`:
// each fails the run with the file named and what is wrong with it, never a run on
// part of the data or on silently resized images.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "fault_support.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;

namespace {

// `workbench run` of the fault suite's experiment on `data`: its exit status and output.
int run_on(const std::string& data, const wbtest::TempDir& dir, std::string* out) {
  std::ofstream(dir / "e.toml") << faults::experiment(data);
  return wbtest::run_cli(fmt::format("run {} --db {}", dir / "e.toml", dir / "r.db"), out);
}

#define EXPECT_HAS(text, part) EXPECT_NE((text).find(part), std::string::npos) << (text)

}  // namespace

TEST(BadData, IdxFilesThatHoldMoreOrOtherThanTheirHeaderSaysFailTheRunNamingTheFile) {
  {
    wbtest::TempDir dir;
    wbtest::write_pattern_dataset(dir / "data", 200, 100, /*gzip=*/false);
    const std::string images = dir / "data/t10k-images-idx3-ubyte";
    std::ofstream(images, std::ios::binary | std::ios::app) << std::string(100, '\0');
    std::string out;
    EXPECT_EQ(run_on(dir / "data", dir, &out), 1);
    EXPECT_HAS(out, images + ": 100 more bytes after the 100 images its header counts");
  }
  {
    wbtest::TempDir dir;
    wbtest::write_pattern_dataset(dir / "data", 200, 100, /*gzip=*/true);
    const std::string labels = dir / "data/train-labels-idx1-ubyte.gz";
    std::ofstream(labels, std::ios::binary | std::ios::app) << "trailing";
    std::string out;
    EXPECT_EQ(run_on(dir / "data", dir, &out), 1);
    EXPECT_HAS(out, labels + ": 8 bytes of trailing data after the gzip stream");
  }
  {
    wbtest::TempDir dir;
    wbtest::write_pattern_dataset(dir / "data", 200, 100, /*gzip=*/false);
    wbtest::write_idx_images(dir / "data/t10k-images-idx3-ubyte",
                             torch::zeros({100, 14, 14}, torch::kUInt8), false);
    std::string out;
    EXPECT_EQ(run_on(dir / "data", dir, &out), 1);
    EXPECT_HAS(out, "t10k-images-idx3-ubyte holds images of 14x14, but");
  }
}

TEST(BadData, AnEmptyImageFolderClassFailsTheRunInsteadOfCountingAsAClass) {
  wbtest::TempDir dir;
  fs::copy(std::string(WB_TEST_DATA_DIR) + "/image_folder", dir / "images",
           fs::copy_options::recursive);
  fs::create_directories(dir / "images/train/bird");
  std::string toml = faults::experiment(dir / "images");
  toml.replace(toml.find("plugin = \"fashion_mnist\""), 24, "plugin = \"image_folder\"\nsize = 8");
  std::ofstream(dir / "e.toml") << toml;
  std::string out;
  EXPECT_EQ(wbtest::run_cli(fmt::format("run {} --db {}", dir / "e.toml", dir / "r.db"), &out), 1);
  EXPECT_HAS(out, "class folder " + (dir / "images/train/bird") + " holds no images");
}
