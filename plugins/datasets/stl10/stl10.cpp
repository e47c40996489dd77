// STL-10, binary version (stl10_binary): train_X.bin / train_y.bin (5,000 labelled
// images), test_X.bin / test_y.bin (8,000) and unlabeled_X.bin (100,000), 96x96 RGB.
// Images are stored column-major, as MATLAB writes them: per image the red plane, then
// green, then blue, each column after column. Labels are bytes 1..10. The unlabeled
// split feeds pretraining (dataset.unlabeled = true); class names from class_names.txt.
#include <filesystem>

#include <carved_dataset.hpp>
#include <stl10_records.hpp>

namespace {

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

  wb::ImageSplit read_official(const std::string& split) override {
    if (split == "unlabeled") {
      auto images = stl10::read_images(file("unlabeled_X.bin"));
      return {images, torch::full({images.size(0)}, -1, torch::kLong)};
    }
    if (split != "train" && split != "test")
      throw wb::Error(fmt::format("stl10: no split '{}' (train, val, test, unlabeled)", split));
    auto images = stl10::read_images(file(split + "_X.bin"));
    return {images, stl10::read_labels(file(split + "_y.bin"), images.size(0))};
  }
};

}  // namespace

WB_PLUGIN(Dataset, "stl10", "1.0.0",
          "STL-10 (binary version), 96x96 RGB, 10 classes and 100,000 unlabeled images", Stl10)
