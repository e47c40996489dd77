// MNIST from its IDX files (LeCun's train-images-idx3-ubyte and friends, raw or .gz):
// 60,000 training and 10,000 test images, 28x28 grey, digits 0-9.
#include <idx_dataset.hpp>

namespace {

class Mnist : public idx::IdxDataset {
 public:
  static void declare(wb::Schema& s) { IdxDataset::declare(s, "/usr/share/datasets/mnist"); }
  explicit Mnist(wb::PluginContext& ctx)
      : IdxDataset(ctx, "mnist", {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"},
                   "set dataset.path to the folder with MNIST's IDX files") {}
};

}  // namespace

WB_PLUGIN(Dataset, "mnist", "1.0.0", "MNIST (IDX files), 28x28 grey, 10 digits", Mnist)
