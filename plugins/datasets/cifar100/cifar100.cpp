// CIFAR-100, binary version (cifar-100-binary): train.bin (50,000 images) and test.bin
// (10,000), records of a coarse label byte (20 superclasses), a fine label byte (100
// classes) and a 32x32 RGB image. `labels` picks which; fine by default, as in the
// paper. Names from {fine,coarse}_label_names.txt.
#include <filesystem>

#include <carved_dataset.hpp>
#include <cifar_records.hpp>

namespace {

class Cifar100 : public datasets::CarvedDataset {
 public:
  static void declare(wb::Schema& s) {
    s.string("path", "data/cifar-100-binary", "folder with train.bin and test.bin (or .gz)");
    s.string("labels", "fine", "fine (100 classes) or coarse (20 superclasses)")
        .one_of({"fine", "coarse"});
    declare_val_fraction(s, 0.1);
  }
  explicit Cifar100(wb::PluginContext& ctx) : CarvedDataset(ctx, "cifar100") {}

  std::vector<std::string> class_names() const override {
    const std::filesystem::path dir = ctx_.config().get_string("path");
    return datasets::label_names((dir / (labels() + "_label_names.txt")).string(), classes());
  }

 private:
  std::string labels() const { return ctx_.config().get_string("labels"); }
  int64_t classes() const { return labels() == "fine" ? 100 : 20; }

  wb::ImageSplit read_official(const std::string& split) override {
    if (split != "train" && split != "test")
      throw wb::Error(fmt::format("cifar100: no split '{}' (train, val, test)", split));
    auto p = wb::find_data_file(ctx_.config().get_string("path"), split + ".bin",
                                "set dataset.path to the extracted cifar-100-binary folder");
    ctx_.depends_on(p);
    // Byte 0 is the coarse label, byte 1 the fine one.
    return cifar::read_records(p, 2, labels() == "fine" ? 1 : 0, classes());
  }
};

}  // namespace

WB_PLUGIN(Dataset, "cifar100", "1.0.0",
          "CIFAR-100 (binary version), 32x32 RGB, 100 fine or 20 coarse classes", Cifar100)
