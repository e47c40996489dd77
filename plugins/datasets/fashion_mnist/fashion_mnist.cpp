// Fashion-MNIST from its IDX files (Debian's dataset-fashion-mnist by default):
// 60,000 training and 10,000 test images, 28x28 grey, 10 classes.
#include <idx_dataset.hpp>

namespace {

class FashionMnist : public idx::IdxDataset {
 public:
  static void declare(wb::Schema& s) {
    IdxDataset::declare(s, "/usr/share/datasets/fashion-mnist");
  }
  explicit FashionMnist(wb::PluginContext& ctx)
      : IdxDataset(ctx, "fashion_mnist",
                   {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                    "Sneaker", "Bag", "Ankle boot"},
                   "install the package dataset-fashion-mnist or set dataset.path") {}
};

}  // namespace

WB_PLUGIN(Dataset, "fashion_mnist", "1.1.0", "Fashion-MNIST (IDX files), 28x28 grey, 10 classes",
          FashionMnist)
