// ImageNet-style folders of JPEG and PNG images: <path>/<train_dir>/<class>/<image> and
// <path>/<test_dir>/<class>/<image>, classes named by the training folder's
// subfolders (sorted). Images are decoded with stb_image and brought to size x size:
// the paper's evaluation transform (shorter side resized to `size`, centre crop) for
// every split, or for the training images a random resized crop (area 8-100%, aspect
// 3/4-4/3, drawn once per image by seed, since tokens are cached) when asked.
#include <algorithm>
#include <filesystem>

#include <ATen/Parallel.h>
#include <carved_dataset.hpp>

#include "image_decode.hpp"

namespace fs = std::filesystem;

namespace {

bool is_image(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png";
}

class ImageFolder : public datasets::CarvedDataset {
 public:
  static void declare(wb::Schema& s) {
    s.string("path", "", "root folder holding the train and test folders");
    s.string("train_dir", "train", "folder of training images, one subfolder per class");
    s.string("test_dir", "val", "folder of test images (ImageNet's val), same class folders");
    s.integer("size", 64, "side of the square images produced").range(1, 4096);
    s.integer("channels", 3, "3 (RGB) or 1 (grey)").range(1, 3);
    s.string("train_crop", "center",
             "center (the evaluation transform) or random_resized (drawn once per image)")
        .one_of({"center", "random_resized"});
    declare_val_fraction(s, 0.04);
  }
  explicit ImageFolder(wb::PluginContext& ctx) : CarvedDataset(ctx, "image_folder") {}

  std::vector<std::string> class_names() const override {
    if (classes_.empty()) classes_ = list_classes();
    return classes_;
  }

 private:
  fs::path root() const {
    const std::string p = ctx_.config().get_string("path");
    if (p.empty()) throw wb::Error("image_folder: set dataset.path to the image tree's root");
    return p;
  }

  std::vector<std::string> list_classes() const {
    const fs::path dir = root() / ctx_.config().get_string("train_dir");
    if (!fs::is_directory(dir))
      throw wb::Error(fmt::format("image_folder: {} is not a folder", dir.string()));
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir))
      if (e.is_directory()) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    if (names.empty())
      throw wb::Error(fmt::format("image_folder: {} has no class folders", dir.string()));
    return names;
  }

  wb::ImageSplit read_official(const std::string& split) override {
    if (split != "train" && split != "test")
      throw wb::Error(fmt::format("image_folder: no split '{}' (train, val, test)", split));
    const auto& cfg = ctx_.config();
    const fs::path dir = root() / cfg.get_string(split == "train" ? "train_dir" : "test_dir");
    if (!fs::is_directory(dir))
      throw wb::Error(fmt::format("image_folder: {} is not a folder", dir.string()));
    const auto classes = class_names();
    std::vector<std::string> files;
    std::vector<int64_t> labels;
    int64_t skipped = 0;
    for (const auto& e : fs::directory_iterator(dir)) {
      if (!e.is_directory()) continue;
      const std::string name = e.path().filename().string();
      const auto it = std::find(classes.begin(), classes.end(), name);
      if (it == classes.end())
        throw wb::Error(fmt::format("image_folder: {} is a class the training folder lacks",
                                    e.path().string()));
      std::vector<std::string> here;
      for (const auto& f : fs::directory_iterator(e.path())) {
        if (!f.is_regular_file()) continue;
        if (is_image(f.path()))
          here.push_back(f.path().string());
        else
          ++skipped;
      }
      // A training class folder without images would be a class no image has: the
      // probes' class count, and every label after it, would be off by one.
      if (here.empty() && split == "train")
        throw wb::Error(
            fmt::format("image_folder: class folder {} holds no images", e.path().string()));
      std::sort(here.begin(), here.end());
      for (auto& f : here) {
        files.push_back(f);
        labels.push_back(it - classes.begin());
      }
    }
    if (skipped)
      ctx_.warn("{}: skipped {} files that are not .jpg, .jpeg or .png", dir.string(), skipped);
    if (files.empty())
      throw wb::Error(fmt::format("image_folder: {} holds no images", dir.string()));
    // Files sorted by class then name, whatever order the file system lists them in.
    std::vector<size_t> order(files.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return std::tie(labels[a], files[a]) < std::tie(labels[b], files[b]);
    });
    std::vector<std::string> sorted_files;
    std::vector<int64_t> sorted_labels;
    for (size_t i : order) {
      sorted_files.push_back(files[i]);
      sorted_labels.push_back(labels[i]);
      ctx_.depends_on(files[i]);
    }
    const bool random = split == "train" && cfg.get_string("train_crop") == "random_resized";
    return {decode_all(sorted_files, random), torch::tensor(sorted_labels, torch::kLong)};
  }

  // uint8 (N, size, size, channels), decoded and cropped in parallel.
  torch::Tensor decode_all(const std::vector<std::string>& files, bool random) const {
    const int64_t size = ctx_.config().get_int("size"), ch = ctx_.config().get_int("channels");
    if (ch == 2) throw wb::Error("image_folder: channels must be 1 (grey) or 3 (RGB), not 2");
    const auto n = static_cast<int64_t>(files.size());
    auto out = torch::empty({n, size, size, ch}, torch::kUInt8);
    auto* dst = out.data_ptr<uint8_t>();
    const uint64_t seed = ctx_.seed("random_resized_crop");
    auto progress = ctx_.progress("decode", n);
    // Batches decoded in parallel; progress advances between them, on this thread.
    constexpr int64_t kBatch = 256;
    for (int64_t first = 0; first < n; first += kBatch) {
      const int64_t last = std::min(n, first + kBatch);
      at::parallel_for(first, last, 8, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i)
          decode_one(files[i], random, seed + uint64_t(i), dst + i * size * size * ch);
      });
      progress->advance(last - first);
    }
    progress->finish("");
    return out;
  }

  // One image: decode, crop (centre square or random resized), resize to size x size.
  void decode_one(const std::string& file, bool random, uint64_t seed, uint8_t* dst) const {
    image_folder::decode_image(file, ctx_.config().get_int("size"),
                               ctx_.config().get_int("channels"), random, seed, dst);
  }

  mutable std::vector<std::string> classes_;
};

}  // namespace

WB_PLUGIN(Dataset, "image_folder", "1.0.0",
          "ImageNet-style class folders of JPEG/PNG images (stb_image), short-side resize and "
          "centre crop",
          ImageFolder)
