#pragma once
// IDX files (LeCun's MNIST format: big-endian header, then bytes) and a dataset plugin
// over a folder of them, shared by mnist and fashion_mnist: 60,000 training and 10,000
// test images, 28x28 grey, 10 classes, files {train,t10k}-{images-idx3,labels-idx1}-ubyte
// with or without .gz.
#include <string>
#include <vector>

#include <workbench/workbench.hpp>

#include "carved_dataset.hpp"

namespace idx {

// uint8 (N, rows, cols, 1)
torch::Tensor read_images(wb::DataFile& file);
// int64 (N), each checked to lie in [0, num_classes)
torch::Tensor read_labels(wb::DataFile& file, int64_t num_classes);

class IdxDataset : public datasets::CarvedDataset {
 public:
  // The keys every IDX dataset has: path (default `default_path`) and val_fraction.
  static void declare(wb::Schema& s, const std::string& default_path);

  IdxDataset(wb::PluginContext& ctx, std::string name, std::vector<std::string> classes,
             std::string install_hint);
  std::vector<std::string> class_names() const override { return classes_; }

 private:
  wb::ImageSplit read_official(const std::string& split) override;

  std::string hint_;
  std::vector<std::string> classes_;
  // The first images file read and its image size: the other split's must match (the
  // host would otherwise resize one of them without a word).
  std::string first_file_;
  int64_t first_rows_ = 0, first_cols_ = 0;
};

}  // namespace idx
