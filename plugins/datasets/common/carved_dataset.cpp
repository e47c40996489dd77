#include "carved_dataset.hpp"

#include <filesystem>
#include <fstream>

namespace datasets {

void CarvedDataset::declare_val_fraction(wb::Schema& s, double default_fraction) {
  s.number("val_fraction", default_fraction,
           "share of the official training set held out as validation (seeded)")
      .range(0.0, 0.9);
}

wb::ImageSplit CarvedDataset::load(const std::string& split) {
  if (split != "train" && split != "val") return read_official(split);
  if (!train_.images.defined()) {
    auto gen = ctx_.generator("val_split");
    std::tie(train_, val_) = wb::split_off_validation(read_official("train"),
                                                      ctx_.config().get_float("val_fraction"), gen);
    ctx_.info("{}: {} train / {} val images", name_, train_.images.size(0), val_.images.size(0));
  }
  return split == "train" ? train_ : val_;
}

std::vector<std::string> label_names(const std::string& path, int64_t n,
                                     std::vector<std::string> fallback) {
  std::vector<std::string> names;
  if (std::filesystem::exists(path)) {
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);) {
      while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
      if (!line.empty()) names.push_back(line);
    }
    if (static_cast<int64_t>(names.size()) == n) return names;
  }
  if (!fallback.empty()) return fallback;
  names.clear();
  for (int64_t i = 0; i < n; ++i) names.push_back(std::to_string(i));
  return names;
}

}  // namespace datasets
