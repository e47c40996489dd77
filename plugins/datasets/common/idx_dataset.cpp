#include "idx_dataset.hpp"

namespace idx {

namespace {

void check_magic(wb::DataFile& f, uint32_t want, const char* kind) {
  const uint32_t magic = f.read_be32("the magic number");
  if (magic != want)
    throw wb::Error(fmt::format("{}: wrong magic number 0x{:08x}, expected 0x{:08x} for IDX {}",
                                f.path(), magic, want, kind));
}

}  // namespace

torch::Tensor read_images(wb::DataFile& f) {
  check_magic(f, 0x00000803, "images");
  const int64_t n = f.read_be32("the image count"), rows = f.read_be32("the row count"),
                cols = f.read_be32("the column count");
  if (rows == 0 || cols == 0 || rows > 4096 || cols > 4096)
    throw wb::Error(fmt::format("{}: implausible image size {}x{}", f.path(), rows, cols));
  const int64_t want = n * rows * cols;
  const auto bytes = f.read_bytes(want);  // no more memory than the file holds
  const int64_t got = bytes.numel();
  if (got != want)
    throw wb::Error(
        fmt::format("{}: truncated: header promises {} images of {}x{} ({} bytes) but "
                    "the file ends after {} bytes, inside image {}",
                    f.path(), n, rows, cols, want, got, got / (rows * cols)));
  f.expect_end(fmt::format("the {} images its header counts", n));
  return bytes.view({n, rows, cols, 1});
}

torch::Tensor read_labels(wb::DataFile& f, int64_t num_classes) {
  check_magic(f, 0x00000801, "labels");
  const int64_t n = f.read_be32("the label count");
  const auto bytes = f.read_bytes(n);  // no more memory than the file holds
  const int64_t got = bytes.numel();
  if (got != n)
    throw wb::Error(fmt::format("{}: truncated: header promises {} labels, the file holds {}",
                                f.path(), n, got));
  f.expect_end(fmt::format("the {} labels its header counts", n));
  auto labels = bytes.to(torch::kLong);
  wb::check_labels(labels, num_classes, f.path());
  return labels;
}

void IdxDataset::declare(wb::Schema& s, const std::string& default_path) {
  s.string("path", default_path, "folder with {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]");
  declare_val_fraction(s, 0.1);
}

IdxDataset::IdxDataset(wb::PluginContext& ctx, std::string name, std::vector<std::string> classes,
                       std::string install_hint)
    : CarvedDataset(ctx, std::move(name)),
      hint_(std::move(install_hint)),
      classes_(std::move(classes)) {}

wb::ImageSplit IdxDataset::read_official(const std::string& split) {
  if (split != "train" && split != "test")
    throw wb::Error(fmt::format("{}: no split '{}' (train, val, test)", name_, split));
  const std::string prefix = split == "train" ? "train" : "t10k";
  const std::string dir = ctx_.config().get_string("path");
  const std::string images = wb::find_data_file(dir, prefix + "-images-idx3-ubyte", hint_);
  const std::string labels = wb::find_data_file(dir, prefix + "-labels-idx1-ubyte", hint_);
  ctx_.depends_on(images);
  ctx_.depends_on(labels);
  wb::DataFile fi(images), fl(labels);
  wb::ImageSplit s{read_images(fi), read_labels(fl, static_cast<int64_t>(classes_.size()))};
  if (s.images.size(0) != s.labels.size(0))
    throw wb::Error(fmt::format("{}: {} holds {} images but {} holds {} labels", name_, images,
                                s.images.size(0), labels, s.labels.size(0)));
  const int64_t rows = s.images.size(1), cols = s.images.size(2);
  if (first_file_.empty()) {
    first_file_ = images;
    first_rows_ = rows;
    first_cols_ = cols;
  } else if (rows != first_rows_ || cols != first_cols_) {
    throw wb::Error(
        fmt::format("{}: {} holds images of {}x{}, but {} holds {}x{} (the splits of "
                    "one dataset are of one size)",
                    name_, images, rows, cols, first_file_, first_rows_, first_cols_));
  }
  return s;
}

}  // namespace idx
