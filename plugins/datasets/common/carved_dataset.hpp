#pragma once
// A dataset whose official files hold a training and a test set: validation is carved
// from the training set by seed (wb::split_off_validation with the `val_fraction`
// key), the rest is train. Subclasses read the official sets and nothing else.
#include <string>
#include <vector>

#include <workbench/workbench.hpp>

namespace datasets {

// The non-empty lines of a label-names file (batches.meta.txt, fine_label_names.txt,
// class_names.txt) when it exists and has exactly n; otherwise `fallback` (or
// "0".."n-1" if that is empty).
std::vector<std::string> label_names(const std::string& path, int64_t n,
                                     std::vector<std::string> fallback = {});

class CarvedDataset : public wb::Dataset {
 public:
  // The `val_fraction` key, with this dataset's default share.
  static void declare_val_fraction(wb::Schema& s, double default_fraction);

  CarvedDataset(wb::PluginContext& ctx, std::string name) : ctx_(ctx), name_(std::move(name)) {}
  wb::ImageSplit load(const std::string& split) final;

 protected:
  // "train" or "test", or another split the subclass offers (e.g. "unlabeled"); throws
  // for one it does not have.
  virtual wb::ImageSplit read_official(const std::string& split) = 0;
  wb::PluginContext& ctx_;
  std::string name_;

 private:
  wb::ImageSplit train_, val_;
};

}  // namespace datasets
