#pragma once
#include <string>
#include <vector>

#include <torch/types.h>

#include <workbench/plugin.hpp>

namespace wb {

// One split of a labelled image set.
struct ImageSplit {
  torch::Tensor images;  // uint8 (N, H, W, C), C = 1 (grey) or 3 (RGB)
  torch::Tensor labels;  // int64 (N), in [0, num_classes)
};

class WB_API Dataset : public Plugin {
 public:
  ~Dataset() override;
  // split: "train", "val" or "test". "val" is carved from the official training set,
  // deterministically by seed; "train" is what remains. A dataset with unlabelled
  // images for pretraining (STL-10's 100,000) also answers "unlabeled" (labels: any,
  // unused); the host asks for it only when the run's dataset.unlabeled is true, and
  // a dataset without such images throws wb::Error. Throws wb::Error naming the file
  // and record on missing, truncated or malformed input.
  virtual ImageSplit load(const std::string& split) = 0;
  virtual std::vector<std::string> class_names() const = 0;
};

template <>
constexpr const char* kind_name<Dataset>() {
  return "dataset";
}

}  // namespace wb
