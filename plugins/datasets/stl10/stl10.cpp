// STL-10, binary version (stl10_binary): train_X.bin / train_y.bin (5,000 labelled
// images), test_X.bin / test_y.bin (8,000) and unlabeled_X.bin (100,000), 96x96 RGB.
// Images are stored column-major, as MATLAB writes them: per image the red plane, then
// green, then blue, each column after column. Labels are bytes 1..10. The unlabeled
// split feeds pretraining (dataset.unlabeled = true); class names from class_names.txt.
#include <filesystem>

#include <carved_dataset.hpp>

namespace {

constexpr int64_t kSide = 96, kImageBytes = 3 * kSide * kSide;
const std::vector<std::string> kClasses = {"airplane", "bird",  "car",    "cat",  "deer",
                                           "dog",      "horse", "monkey", "ship", "truck"};

class Stl10 : public datasets::CarvedDataset {
 public:
  static void declare(wb::Schema& s) {
    s.string("path", "data/stl10_binary",
             "folder with {train,test}_{X,y}.bin and unlabeled_X.bin (or .gz)");
    declare_val_fraction(s, 0.1);
  }
  explicit Stl10(wb::PluginContext& ctx) : CarvedDataset(ctx, "stl10") {}

  std::vector<std::string> class_names() const override {
    const std::filesystem::path dir = ctx_.config().get_string("path");
    return datasets::label_names((dir / "class_names.txt").string(), 10, kClasses);
  }

 private:
  std::string file(const std::string& name) const {
    auto p = wb::find_data_file(ctx_.config().get_string("path"), name,
                                "set dataset.path to the extracted stl10_binary folder");
    ctx_.depends_on(p);
    return p;
  }

  // uint8 (N, 96, 96, 3) from a column-major X file.
  static torch::Tensor read_images(const std::string& path) {
    wb::DataFile f(path);
    std::vector<uint8_t> bytes;
    std::vector<uint8_t> buf(kImageBytes);
    for (int64_t r = 0; !f.at_end(); ++r) {
      const int64_t got = f.read(buf.data(), kImageBytes);
      if (got != kImageBytes)
        throw wb::Error(fmt::format("{}: truncated: image {} has {} of its {} bytes", path, r, got,
                                    kImageBytes));
      bytes.insert(bytes.end(), buf.begin(), buf.end());
    }
    if (bytes.empty()) throw wb::Error(fmt::format("{}: holds no images", path));
    const int64_t n = static_cast<int64_t>(bytes.size()) / kImageBytes;
    // (N, C, W, H) in file order -> (N, H, W, C)
    auto raw = torch::from_blob(bytes.data(), {n, 3, kSide, kSide}, torch::kUInt8);
    return raw.permute({0, 3, 2, 1}).contiguous();
  }

  static torch::Tensor read_labels(const std::string& path, int64_t expected) {
    wb::DataFile f(path);
    auto bytes = torch::empty({expected}, torch::kUInt8);
    const int64_t got = f.read(bytes.data_ptr<uint8_t>(), expected);
    if (got != expected || !f.at_end())
      throw wb::Error(fmt::format(
          "{}: holds {} labels for {} images", path,
          got == expected ? fmt::format("more than {}", got) : std::to_string(got), expected));
    const auto* p = bytes.data_ptr<uint8_t>();
    for (int64_t i = 0; i < expected; ++i)
      if (p[i] < 1 || p[i] > 10)
        throw wb::Error(
            fmt::format("{}: label {} of record {} is out of range [1, 10]", path, p[i], i));
    return bytes.to(torch::kLong) - 1;  // 1..10 -> 0..9
  }

  wb::ImageSplit read_official(const std::string& split) override {
    if (split == "unlabeled") {
      auto images = read_images(file("unlabeled_X.bin"));
      return {images, torch::full({images.size(0)}, -1, torch::kLong)};
    }
    if (split != "train" && split != "test")
      throw wb::Error(fmt::format("stl10: no split '{}' (train, val, test, unlabeled)", split));
    auto images = read_images(file(split + "_X.bin"));
    return {images, read_labels(file(split + "_y.bin"), images.size(0))};
  }
};

}  // namespace

WB_PLUGIN(Dataset, "stl10", "1.0.0",
          "STL-10 (binary version), 96x96 RGB, 10 classes and 100,000 unlabeled images", Stl10)
