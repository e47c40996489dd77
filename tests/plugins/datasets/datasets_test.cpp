// Every dataset plugin reads its real file format from the committed fixtures in
// tests/fixtures/data (written by make_fixtures.py, pixel values given by formulas
// repeated here) and rejects each kind of bad file with a message naming the file.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <workbench/workbench.hpp>

#include "test_support.hpp"

namespace fs = std::filesystem;

namespace {

const std::string kData = WB_TEST_DATA_DIR;

// A dataset plugin with `keys` under [dataset], and its own host services.
struct Loaded {
  Loaded(const std::string& plugin, const std::string& keys, uint64_t seed = 0) {
    rc = wbtest::run_config(
        fmt::format("[dataset]\nplugin = \"{}\"\n{}\n[quantizer]\nplugin = \"grey\"\n"
                    "[model]\nplugin = \"igpt\"\n[objective]\nplugin = \"ar\"\n",
                    plugin, keys));
    host = std::make_unique<wbtest::HostFixture>(rc.at("dataset"), seed);
    dataset = wbtest::plugins().create<wb::Dataset>(plugin, *host->context);
  }
  wb::RunConfig rc;
  std::unique_ptr<wbtest::HostFixture> host;
  std::shared_ptr<wb::Dataset> dataset;
};

std::string path_key(const std::string& dir) {
  return fmt::format("path = \"{}\"", dir);
}

// The message of the error loading `split`, or a test failure if there is none.
std::string error_loading(const std::string& plugin, const std::string& keys,
                          const std::string& split) {
  try {
    Loaded l(plugin, keys);
    l.dataset->load(split);
  } catch (const wb::Error& e) {
    return e.what();
  }
  ADD_FAILURE() << plugin << " loaded " << split << " without an error";
  return "";
}

// A writable copy of one fixture folder.
struct FixtureCopy {
  explicit FixtureCopy(const std::string& name) {
    fs::copy(kData + "/" + name, tmp.path, fs::copy_options::recursive);
  }
  std::string operator/(const std::string& f) const { return tmp / f; }
  void poke(const std::string& file, int64_t offset, uint8_t value) const {
    std::fstream f(tmp / file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(offset);
    f.put(static_cast<char>(value));
  }
  wbtest::TempDir tmp;
};

#define EXPECT_HAS(text, part) \
  EXPECT_NE(std::string(text).find(part), std::string::npos) << "in: " << (text)

int64_t pixel(const torch::Tensor& images, int64_t i, int64_t r, int64_t c, int64_t ch) {
  return images.index({i, r, c, ch}).item<int64_t>();
}

}  // namespace

// ---- mnist (IDX) -----------------------------------------------------------------

TEST(Mnist, ReadsGzippedAndRawIdxRowByRow) {
  Loaded l("mnist", path_key(kData + "/mnist") + "\nval_fraction = 0.25");
  auto train = l.dataset->load("train"), val = l.dataset->load("val"),
       test = l.dataset->load("test");
  EXPECT_EQ(train.images.size(0), 6);  // 8 in train-*.gz, a quarter to val
  EXPECT_EQ(val.images.size(0), 2);
  ASSERT_EQ(test.images.sizes(), (std::vector<int64_t>{4, 7, 6, 1}));  // raw t10k-*
  for (int64_t i = 0; i < 4; ++i) {
    EXPECT_EQ(test.labels[i].item<int64_t>(), i % 10);
    for (int64_t r = 0; r < 7; ++r)
      for (int64_t c = 0; c < 6; ++c)
        EXPECT_EQ(pixel(test.images, i, r, c, 0), (i * 31 + r * 7 + c * 3) % 256);
  }
  EXPECT_EQ(l.dataset->class_names().size(), 10u);
}

TEST(Mnist, WrongMagicNumberIsNamed) {
  FixtureCopy d("mnist");
  d.poke("t10k-images-idx3-ubyte", 3, 0x01);
  auto msg = error_loading("mnist", path_key(d.tmp.path), "test");
  EXPECT_HAS(msg, d / "t10k-images-idx3-ubyte: wrong magic number 0x00000801");
}

TEST(Mnist, LabelOutOfRangeNamesTheRecord) {
  FixtureCopy d("mnist");
  d.poke("t10k-labels-idx1-ubyte", 8 + 2, 12);
  auto msg = error_loading("mnist", path_key(d.tmp.path), "test");
  EXPECT_HAS(msg, d / "t10k-labels-idx1-ubyte: label 12 of record 2 is out of range [0, 10)");
}

// ---- cifar10 / cifar100 -----------------------------------------------------------

namespace {
int64_t cifar_pixel(int64_t i, int64_t ch, int64_t r, int64_t c) {
  return (i * 17 + ch * 50 + r * 3 + c) % 256;
}
void expect_cifar_image(const torch::Tensor& images, int64_t row, int64_t i) {
  for (int64_t ch = 0; ch < 3; ++ch)
    for (int64_t r = 0; r < 32; r += 5)
      for (int64_t c = 0; c < 32; c += 3)
        ASSERT_EQ(pixel(images, row, r, c, ch), cifar_pixel(i, ch, r, c)) << i << " " << ch;
}
}  // namespace

TEST(Cifar10, ReadsFiveTrainingBatchesAndTheTestBatchPlaneByPlane) {
  Loaded l("cifar10", path_key(kData + "/cifar10") + "\nval_fraction = 0.2");
  auto train = l.dataset->load("train"), val = l.dataset->load("val"),
       test = l.dataset->load("test");
  EXPECT_EQ(train.images.size(0), 8);  // 2 records in each of 5 batches
  EXPECT_EQ(val.images.size(0), 2);
  ASSERT_EQ(test.images.sizes(), (std::vector<int64_t>{3, 32, 32, 3}));
  for (int64_t j = 0; j < 3; ++j) {
    expect_cifar_image(test.images, j, 100 + j);
    EXPECT_EQ(test.labels[j].item<int64_t>(), (100 + j) % 10);
  }
  // Train and val together are the 10 training records, each label i % 10 once.
  auto labels = torch::cat({train.labels, val.labels});
  EXPECT_TRUE(torch::equal(std::get<0>(labels.sort()), torch::arange(10, torch::kLong)));
  EXPECT_EQ(l.dataset->class_names().at(1), "automobile");  // from batches.meta.txt
}

TEST(Cifar10, TruncatedRecordLabelOutOfRangeAndMissingBatchAreNamed) {
  {
    FixtureCopy d("cifar10");
    fs::resize_file(d / "test_batch.bin", 3073 * 2 + 100);
    auto msg = error_loading("cifar10", path_key(d.tmp.path), "test");
    EXPECT_HAS(msg, d / "test_batch.bin: truncated: record 2 has 100 of its 3073 bytes");
  }
  {
    FixtureCopy d("cifar10");
    d.poke("test_batch.bin", 3073, 10);
    auto msg = error_loading("cifar10", path_key(d.tmp.path), "test");
    EXPECT_HAS(msg, d / "test_batch.bin: label 10 of record 1 is out of range [0, 10)");
  }
  {
    FixtureCopy d("cifar10");
    fs::remove(d / "data_batch_3.bin");
    auto msg = error_loading("cifar10", path_key(d.tmp.path), "train");
    EXPECT_HAS(msg, d / "data_batch_3.bin not found");
  }
}

TEST(Cifar100, FineLabelsByDefaultCoarseOnRequest) {
  Loaded fine("cifar100", path_key(kData + "/cifar100"));
  auto test = fine.dataset->load("test");
  expect_cifar_image(test.images, 2, 102);
  EXPECT_TRUE(torch::equal(test.labels, torch::tensor({0, 7, 14}, torch::kLong)));  // 7i % 100
  EXPECT_EQ(fine.dataset->class_names().size(), 100u);
  EXPECT_EQ(fine.dataset->class_names().at(7), "fine7");
  Loaded coarse("cifar100", path_key(kData + "/cifar100") + "\nlabels = \"coarse\"");
  EXPECT_TRUE(torch::equal(coarse.dataset->load("test").labels,
                           torch::tensor({0, 1, 2}, torch::kLong)));  // i % 20
  EXPECT_EQ(coarse.dataset->class_names().size(), 20u);
}

TEST(Cifar100, CoarseLabelOutOfRangeIsNamed) {
  FixtureCopy d("cifar100");
  d.poke("test.bin", 3074 * 2, 20);
  auto msg = error_loading("cifar100", path_key(d.tmp.path) + "\nlabels = \"coarse\"", "test");
  EXPECT_HAS(msg, d / "test.bin: label 20 of record 2 is out of range [0, 20)");
}

// ---- stl10 ------------------------------------------------------------------------

namespace {
int64_t stl_pixel(int64_t i, int64_t ch, int64_t r, int64_t c) {
  return (i * 13 + ch * 40 + r * 2 + c) % 256;
}
}  // namespace

TEST(Stl10, ReadsColumnMajorImagesOneBasedLabelsAndTheUnlabeledSplit) {
  Loaded l("stl10", path_key(kData + "/stl10"));
  auto test = l.dataset->load("test");
  ASSERT_EQ(test.images.sizes(), (std::vector<int64_t>{2, 96, 96, 3}));
  for (int64_t j = 0; j < 2; ++j)
    for (int64_t ch = 0; ch < 3; ++ch)
      for (int64_t r = 0; r < 96; r += 7)
        for (int64_t c = 0; c < 96; c += 5)
          ASSERT_EQ(pixel(test.images, j, r, c, ch), stl_pixel(10 + j, ch, r, c));
  EXPECT_TRUE(torch::equal(test.labels, torch::tensor({1, 2}, torch::kLong)));  // bytes 2, 3
  auto unlabeled = l.dataset->load("unlabeled");  // unlabeled_X.bin.gz
  EXPECT_EQ(unlabeled.images.size(0), 2);
  EXPECT_EQ(pixel(unlabeled.images, 1, 4, 9, 2), stl_pixel(21, 2, 4, 9));
  EXPECT_EQ(unlabeled.labels.max().item<int64_t>(), -1);
  EXPECT_EQ(l.dataset->load("train").images.size(0) + l.dataset->load("val").images.size(0), 3);
}

TEST(Stl10, TruncatedImageBadLabelAndCountMismatchAreNamed) {
  {
    FixtureCopy d("stl10");
    fs::resize_file(d / "train_X.bin", 27648 * 2 + 5);
    auto msg = error_loading("stl10", path_key(d.tmp.path), "train");
    EXPECT_HAS(msg, d / "train_X.bin: truncated: image 2 has 5 of its 27648 bytes");
  }
  {
    FixtureCopy d("stl10");
    d.poke("train_y.bin", 2, 11);
    auto msg = error_loading("stl10", path_key(d.tmp.path), "train");
    EXPECT_HAS(msg, d / "train_y.bin: label 11 of record 2 is out of range [1, 10]");
  }
  {
    FixtureCopy d("stl10");
    fs::resize_file(d / "train_y.bin", 2);
    auto msg = error_loading("stl10", path_key(d.tmp.path), "train");
    EXPECT_HAS(msg, d / "train_y.bin: holds 2 labels for 3 images");
  }
}

// ---- image_folder -------------------------------------------------------------------

TEST(ImageFolder, DecodesPngAndJpegCropsTheCentreAndNamesClassesByFolder) {
  Loaded l("image_folder", path_key(kData + "/image_folder") + "\nsize = 4\nval_fraction = 0");
  EXPECT_EQ(l.dataset->class_names(), (std::vector<std::string>{"cat", "dog"}));
  auto train = l.dataset->load("train");
  // a.png, b.png (cat), c.png, d.jpg (dog); README.txt skipped with a warning.
  ASSERT_EQ(train.images.sizes(), (std::vector<int64_t>{4, 4, 4, 3}));
  EXPECT_TRUE(torch::equal(train.labels, torch::tensor({0, 0, 1, 1}, torch::kLong)));
  // a.png is 12x8, red in its centre 8x8 square and blue outside: the crop is all red.
  auto red = torch::tensor({200, 0, 0}, torch::kUInt8);
  EXPECT_TRUE(torch::equal(train.images[0], red.expand({4, 4, 3}))) << train.images[0];
  EXPECT_EQ(pixel(train.images, 2, 3, 3, 1), 250);  // c.png, 8x12 solid green
  auto jpeg = train.images[3].to(torch::kLong);     // d.jpg, grey 128 after JPEG's loss
  EXPECT_LE((jpeg - 128).abs().max().item<int64_t>(), 3);
  auto test = l.dataset->load("test");  // val/cat/e.png yellow, val/dog/f.png cyan
  EXPECT_TRUE(torch::equal(test.labels, torch::tensor({0, 1}, torch::kLong)));
  EXPECT_EQ(pixel(test.images, 1, 0, 0, 2), 255);
  EXPECT_EQ(pixel(test.images, 1, 0, 0, 0), 0);
}

TEST(ImageFolder, RandomResizedCropsAreSeededAndOnlyForTraining) {
  auto load = [](const std::string& crop, uint64_t seed) {
    Loaded l("image_folder",
             path_key(kData + "/image_folder") +
                 fmt::format("\nsize = 4\nval_fraction = 0\ntrain_crop = \"{}\"", crop),
             seed);
    return std::make_pair(l.dataset->load("train").images, l.dataset->load("test").images);
  };
  auto [centre_train, centre_test] = load("center", 0);
  auto [a_train, a_test] = load("random_resized", 0);
  auto [b_train, b_test] = load("random_resized", 0);
  EXPECT_TRUE(torch::equal(a_train, b_train));     // seeded
  EXPECT_TRUE(torch::equal(a_test, centre_test));  // test keeps the evaluation transform
  // a.png's random crops reach into its blue border, which the centre crop never shows.
  int differ = 0;
  for (uint64_t seed = 1; seed <= 5; ++seed)
    differ += !torch::equal(load("random_resized", seed).first[0], centre_train[0]);
  EXPECT_GT(differ, 0);
}

TEST(ImageFolder, UndecodableImageUnknownClassAndNoPathAreNamed) {
  {
    FixtureCopy d("image_folder");
    std::ofstream(d / "train/cat/broken.png") << "not a png at all";
    auto msg = error_loading("image_folder", path_key(d.tmp.path), "train");
    EXPECT_HAS(msg, d / "train/cat/broken.png: cannot decode image");
  }
  {
    FixtureCopy d("image_folder");
    fs::create_directories(d / "val/bird");
    auto msg = error_loading("image_folder", path_key(d.tmp.path), "test");
    EXPECT_HAS(msg, d / "val/bird is a class the training folder lacks");
  }
  {
    // An empty class folder would be a class no image has (and shift every label after
    // it); it is refused, not counted.
    FixtureCopy d("image_folder");
    fs::create_directories(d / "train/bird");
    auto msg = error_loading("image_folder", path_key(d.tmp.path), "train");
    EXPECT_HAS(msg, "class folder " + (d / "train/bird") + " holds no images");
  }
  EXPECT_HAS(error_loading("image_folder", "", "train"), "set dataset.path");
}

// Files whose claimed sizes would make stb_image allocate gigabytes (the first found by
// tools/fuzz.sh: a PNG chunk claiming 1.1 GB in a 71-byte file) are refused first.
TEST(ImageFolder, SizesAnImageClaimsBeyondItsFileOrAnySensibleSideAreRefused) {
  auto write = [](const std::string& path, const std::vector<uint8_t>& bytes) {
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  };
  {
    FixtureCopy d("image_folder");
    write(d / "train/cat/chunk.png",
          {0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44,
           0x52, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x0c, 0x08, 0x02, 0x00, 0x00, 0x00, 0xd0,
           0xfc, 0x6b, 0xca, 0x00, 0x00, 0x00, 0x11, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0x60,
           0xf8, 0xc5, 0x80, 0x1d, 0x8d, 0x4a, 0xa0, 0x23, 0x00, 0xf2, 0xd6, 0x5d, 0xc1, 0xce, 0x00,
           0x00, 0x00, 0x44, 0x41, 0x09, 0x11, 0x49, 0x44, 0x41, 0x54, 0x78});
    const std::string msg = error_loading("image_folder", path_key(d.tmp.path), "train");
    EXPECT_HAS(msg, "a PNG chunk at byte 62 claims 1145112849 bytes, past the end of the file");
  }
  {
    FixtureCopy d("image_folder");
    // A real PNG whose header says 12000 x 12000 (stb itself refuses more than 2^30
    // bytes; this is less, and would be 432 MB).
    std::ifstream in(d / "train/cat/a.png", std::ios::binary);
    std::vector<uint8_t> png((std::istreambuf_iterator<char>(in)), {});
    ASSERT_GE(png.size(), 24u);
    for (int at : {16, 20}) {  // IHDR's width, then height, big-endian
      png[at] = 0;
      png[at + 1] = 0;
      png[at + 2] = 0x2e;
      png[at + 3] = 0xe0;
    }
    write(d / "train/cat/wide.png", png);
    const std::string msg = error_loading("image_folder", path_key(d.tmp.path), "train");
    EXPECT_HAS(msg, "12000x12000 is larger than 8192 a side");
  }
}

// ---- synthetic ----------------------------------------------------------------------

TEST(Synthetic, AnySizeAndChannelsBalancedClassesSameImagesForTheSameDataSeed) {
  const std::string keys = "size = 12\nchannels = 1\nclasses = 4\ntrain = 40\ntest = 20";
  Loaded a("synthetic", keys), b("synthetic", keys), other("synthetic", keys + "\ndata_seed = 5");
  auto test = a.dataset->load("test");
  ASSERT_EQ(test.images.sizes(), (std::vector<int64_t>{20, 12, 12, 1}));
  EXPECT_TRUE(torch::equal(torch::bincount(test.labels), torch::full({4}, 5, torch::kLong)));
  EXPECT_TRUE(torch::equal(test.images, b.dataset->load("test").images));
  EXPECT_FALSE(torch::equal(test.images, other.dataset->load("test").images));
  EXPECT_EQ(a.dataset->class_names().size(), 4u);
  Loaded rgb("synthetic", "size = 40\ntrain = 10\ntest = 10");
  EXPECT_EQ(rgb.dataset->load("test").images.sizes(), (std::vector<int64_t>{10, 40, 40, 3}));
}
