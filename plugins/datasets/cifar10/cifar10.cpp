// CIFAR-10, binary version (cifar-10-batches-bin): data_batch_1.bin .. data_batch_5.bin
// (50,000 training images) and test_batch.bin (10,000), records of 1 label byte and a
// 32x32 RGB image; class names from batches.meta.txt.
#include <filesystem>

#include <carved_dataset.hpp>
#include <cifar_records.hpp>

namespace {

const std::vector<std::string> kClasses = {"airplane", "automobile", "bird",  "cat",  "deer",
                                           "dog",      "frog",       "horse", "ship", "truck"};

class Cifar10 : public datasets::CarvedDataset {
 public:
  static void declare(wb::Schema& s) {
    s.string("path", "data/cifar-10-batches-bin",
             "folder with data_batch_{1..5}.bin and test_batch.bin (each also as .gz)");
    declare_val_fraction(s, 0.1);
  }
  explicit Cifar10(wb::PluginContext& ctx) : CarvedDataset(ctx, "cifar10") {}

  std::vector<std::string> class_names() const override {
    const std::filesystem::path dir = ctx_.config().get_string("path");
    return datasets::label_names((dir / "batches.meta.txt").string(), 10, kClasses);
  }

 private:
  wb::ImageSplit read_official(const std::string& split) override {
    std::vector<std::string> files;
    if (split == "train")
      for (int i = 1; i <= 5; ++i) files.push_back(file(fmt::format("data_batch_{}.bin", i)));
    else if (split == "test")
      files.push_back(file("test_batch.bin"));
    else
      throw wb::Error(fmt::format("cifar10: no split '{}' (train, val, test)", split));
    return cifar::read_files(files, 1, 0, 10);
  }

  std::string file(const std::string& name) const {
    auto p = wb::find_data_file(ctx_.config().get_string("path"), name,
                                "set dataset.path to the extracted cifar-10-batches-bin folder");
    ctx_.depends_on(p);
    return p;
  }
};

}  // namespace

WB_PLUGIN(Dataset, "cifar10", "1.0.0", "CIFAR-10 (binary version), 32x32 RGB, 10 classes", Cifar10)
