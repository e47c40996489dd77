#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <workbench/workbench.hpp>

#include "test_support.hpp"

namespace {

// A dataset plugin reading `dir`, with its own host services.
struct Loaded {
  explicit Loaded(const std::string& dir, const std::string& extra = "") {
    rc = wbtest::run_config(
        wbtest::minimal_experiment(fmt::format("path = \"{}\"\n{}", dir, extra)));
    host = std::make_unique<wbtest::HostFixture>(rc.at("dataset"));
    dataset = wbtest::plugins().create<wb::Dataset>("fashion_mnist", *host->context);
  }
  wb::RunConfig rc;
  std::unique_ptr<wbtest::HostFixture> host;
  std::shared_ptr<wb::Dataset> dataset;
};

std::string error_loading(const std::string& dir, const std::string& split) {
  Loaded l(dir);
  try {
    l.dataset->load(split);
  } catch (const wb::Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no error";
  return "";
}

}  // namespace

TEST(FashionMnist, ReadsGzipAndRawIdxAndCarvesASeededValidationSplit) {
  for (bool gzip : {true, false}) {
    wbtest::TempDir dir;
    wbtest::write_pattern_dataset(dir.path, 100, 30, gzip);
    Loaded l(dir.path);
    auto train = l.dataset->load("train"), val = l.dataset->load("val"),
         test = l.dataset->load("test");
    EXPECT_EQ(train.images.sizes(), (std::vector<int64_t>{90, 28, 28, 1}));
    EXPECT_EQ(val.images.size(0), 10);
    EXPECT_EQ(test.images.size(0), 30);
    EXPECT_EQ(train.images.dtype(), torch::kUInt8);
    EXPECT_EQ(train.labels.dtype(), torch::kLong);
    EXPECT_EQ(l.dataset->class_names().size(), 10u);
    // The same seed carves the same split; train and val partition the file.
    Loaded again(dir.path);
    EXPECT_TRUE(torch::equal(again.dataset->load("val").images, val.images));
    EXPECT_EQ(train.labels.size(0) + val.labels.size(0), 100);
  }
}

TEST(FashionMnist, ValidationFractionIsConfigurable) {
  wbtest::TempDir dir;
  wbtest::write_pattern_dataset(dir.path, 100, 10);
  Loaded l(dir.path, "val_fraction = 0.25");
  EXPECT_EQ(l.dataset->load("val").images.size(0), 25);
}

TEST(FashionMnist, MissingFileNamesThePathAndThePackage) {
  wbtest::TempDir dir;
  std::string msg = error_loading(dir.path, "test");
  EXPECT_NE(msg.find(dir.path + "/t10k-images-idx3-ubyte not found"), std::string::npos) << msg;
  EXPECT_NE(msg.find("dataset-fashion-mnist"), std::string::npos) << msg;
}

TEST(FashionMnist, TruncatedFileNamesTheIncompleteImage) {
  wbtest::TempDir dir;
  wbtest::write_pattern_dataset(dir.path, 10, 10, /*gzip=*/false);
  const std::string images = dir / "t10k-images-idx3-ubyte";
  std::filesystem::resize_file(images, 16 + 28 * 28 * 3 + 100);  // 3 whole images and a bit
  std::string msg = error_loading(dir.path, "test");
  EXPECT_NE(msg.find(images + ": truncated"), std::string::npos) << msg;
  EXPECT_NE(msg.find("inside image 3"), std::string::npos) << msg;
}

// A corrupt count (found by tools/fuzz.sh): a header claiming 2^32 - 1 images of
// 4096x4096 (70 PB) in a file of 16 bytes more is "truncated"; the claim is never
// allocated (that failed inside LibTorch, with no file named).
TEST(FashionMnist, AnImplausibleCountIsTruncationNotAnAllocationOfTheClaim) {
  wbtest::TempDir dir;
  wbtest::write_pattern_dataset(dir.path, 10, 10, /*gzip=*/false);
  const std::string images = dir / "t10k-images-idx3-ubyte";
  unsigned char bytes[32] = {0, 0, 8, 3, 0xff, 0xff, 0xff, 0xff, 0, 0, 0x10, 0, 0, 0, 0x10, 0};
  std::ofstream(images, std::ios::binary).write(reinterpret_cast<const char*>(bytes), 32);
  std::string msg = error_loading(dir.path, "test");
  EXPECT_NE(msg.find(images + ": truncated: header promises 4294967295 images of 4096x4096"),
            std::string::npos)
      << msg;
}

TEST(FashionMnist, WrongMagicNumberIsRefused) {
  wbtest::TempDir dir;
  wbtest::write_pattern_dataset(dir.path, 10, 10, /*gzip=*/false);
  // A labels file where the images should be.
  std::filesystem::copy_file(dir / "t10k-labels-idx1-ubyte", dir / "t10k-images-idx3-ubyte",
                             std::filesystem::copy_options::overwrite_existing);
  std::string msg = error_loading(dir.path, "test");
  EXPECT_NE(msg.find("wrong magic number 0x00000801, expected 0x00000803"), std::string::npos)
      << msg;
}

TEST(FashionMnist, LabelOutOfRangeNamesTheRecord) {
  wbtest::TempDir dir;
  wbtest::write_pattern_dataset(dir.path, 10, 10, /*gzip=*/false);
  auto labels = torch::zeros({10}, torch::kLong);
  labels[7] = 12;
  wbtest::write_idx_labels(dir / "t10k-labels-idx1-ubyte", labels, false);
  std::string msg = error_loading(dir.path, "test");
  EXPECT_NE(msg.find("label 12 of record 7 is out of range [0, 10)"), std::string::npos) << msg;
}

TEST(FashionMnist, ImageAndLabelCountsMustAgree) {
  wbtest::TempDir dir;
  wbtest::write_pattern_dataset(dir.path, 10, 10, /*gzip=*/false);
  wbtest::write_idx_labels(dir / "t10k-labels-idx1-ubyte", torch::zeros({9}, torch::kLong), false);
  EXPECT_NE(error_loading(dir.path, "test").find("holds 10 images but"), std::string::npos);
}

// A file longer than its header says holds records the header does not count: refused
// (as the CIFAR reader refuses a file that is not whole records), not read in part.
TEST(FashionMnist, AFileLongerThanItsHeaderSaysIsRefused) {
  wbtest::TempDir dir;
  wbtest::write_pattern_dataset(dir.path, 10, 10, /*gzip=*/false);
  const std::string images = dir / "t10k-images-idx3-ubyte";
  std::ofstream(images, std::ios::binary | std::ios::app) << std::string(784, '\x7f');
  const std::string msg = error_loading(dir.path, "test");
  EXPECT_NE(msg.find(images + ": 784 more bytes after the 10 images its header counts"),
            std::string::npos)
      << msg;
}

// zlib's own reader skips what follows the last gzip member without a word.
TEST(FashionMnist, TrailingBytesAfterTheGzipStreamAreRefused) {
  wbtest::TempDir dir;
  wbtest::write_pattern_dataset(dir.path, 10, 10, /*gzip=*/true);
  const std::string labels = dir / "t10k-labels-idx1-ubyte.gz";
  std::ofstream(labels, std::ios::binary | std::ios::app) << "garbage!";
  const std::string msg = error_loading(dir.path, "test");
  EXPECT_NE(msg.find(labels + ": 8 bytes of trailing data after the gzip stream"),
            std::string::npos)
      << msg;
}

TEST(FashionMnist, TrainAndTestImagesOfDifferentSizesAreRefused) {
  wbtest::TempDir dir;
  wbtest::write_pattern_dataset(dir.path, 10, 10, /*gzip=*/false);
  wbtest::write_idx_images(dir / "t10k-images-idx3-ubyte",
                           torch::zeros({10, 32, 32}, torch::kUInt8), false);
  Loaded l(dir.path);
  l.dataset->load("train");
  try {
    l.dataset->load("test");
    ADD_FAILURE() << "no error";
  } catch (const wb::Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("holds images of 32x32, but"), std::string::npos) << msg;
    EXPECT_NE(msg.find("holds 28x28"), std::string::npos) << msg;
  }
}
