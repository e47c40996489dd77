// Fashion-MNIST from its IDX files (Debian's dataset-fashion-mnist by default):
// 60,000 training and 10,000 test images, 28x28 grey, 10 classes.
#include <filesystem>

#include <workbench/workbench.hpp>

#include "idx_file.hpp"

namespace {

const std::vector<std::string> kClasses = {"T-shirt/top", "Trouser",   "Pullover", "Dress",
                                           "Coat",        "Sandal",    "Shirt",    "Sneaker",
                                           "Bag",         "Ankle boot"};

class FashionMnist : public wb::Dataset {
 public:
  static void declare(wb::Schema& s) {
    s.string("path", "/usr/share/datasets/fashion-mnist",
             "folder with {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]");
    s.number("val_fraction", 0.1, "share of the official training set held out as validation")
        .range(0.0, 0.9);
  }

  explicit FashionMnist(wb::PluginContext& ctx) : ctx_(ctx) {}

  wb::ImageSplit load(const std::string& split) override {
    if (split == "test") return read("t10k");
    if (split != "train" && split != "val")
      throw wb::Error(fmt::format("fashion_mnist: unknown split '{}' (train, val, test)", split));
    if (!train_.images.defined()) carve();
    return split == "train" ? train_ : val_;
  }

  std::vector<std::string> class_names() const override { return kClasses; }

 private:
  std::string file(const std::string& stem) const {
    namespace fs = std::filesystem;
    const fs::path dir = ctx_.config().get_string("path");
    for (const char* ext : {".gz", ""}) {
      fs::path p = dir / (stem + ext);
      if (fs::exists(p)) return p.string();
    }
    throw wb::Error(
        fmt::format("fashion_mnist: {} not found (nor {}.gz); install the package "
                    "dataset-fashion-mnist or set dataset.path",
                    (dir / stem).string(), (dir / stem).string()));
  }

  wb::ImageSplit read(const std::string& prefix) const {
    wb::ImageSplit s;
    const std::string images = file(prefix + "-images-idx3-ubyte");
    const std::string labels = file(prefix + "-labels-idx1-ubyte");
    s.images = fmnist::read_idx_images(images);
    s.labels = fmnist::read_idx_labels(labels, static_cast<int64_t>(kClasses.size()));
    if (s.images.size(0) != s.labels.size(0))
      throw wb::Error(fmt::format("fashion_mnist: {} holds {} images but {} holds {} labels",
                                  images, s.images.size(0), labels, s.labels.size(0)));
    return s;
  }

  // Validation: a seeded random val_fraction of the official training set; the rest,
  // in file order, is train. The same seed always carves the same split.
  void carve() {
    wb::ImageSplit all = read("train");
    const int64_t n = all.images.size(0);
    const auto n_val = static_cast<int64_t>(ctx_.config().get_float("val_fraction") * n);
    auto gen = ctx_.generator("val_split");
    auto perm = torch::randperm(n, gen, torch::kLong);
    auto val_idx = std::get<0>(perm.slice(0, 0, n_val).sort());
    auto train_idx = std::get<0>(perm.slice(0, n_val).sort());
    val_ = {all.images.index_select(0, val_idx), all.labels.index_select(0, val_idx)};
    train_ = {all.images.index_select(0, train_idx), all.labels.index_select(0, train_idx)};
    ctx_.info("{} train / {} val images from {}", train_.images.size(0), val_.images.size(0),
              ctx_.config().get_string("path"));
  }

  wb::PluginContext& ctx_;
  wb::ImageSplit train_, val_;
};

}  // namespace

WB_PLUGIN(Dataset, "fashion_mnist", "1.0.0", "Fashion-MNIST (IDX files), 28x28 grey, 10 classes",
          FashionMnist)
