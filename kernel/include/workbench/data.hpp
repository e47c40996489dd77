#pragma once
// Helpers for dataset plugins: reading binary files with errors that name the file and
// the record, the seeded validation split, class-balanced subsets for the low-data
// experiments, and the paper's augmentation. All of them work on the SDK's ImageSplit
// layout: uint8 (N, H, W, C) images and int64 (N) labels.
#include <cstdint>
#include <string>
#include <utility>

#include <torch/types.h>

#include <workbench/dataset.hpp>
#include <workbench/export.hpp>

namespace wb {

// A dataset file opened for reading; gzip-compressed files (known by their first
// bytes) are read decompressed, so one reader serves `x.bin` and `x.bin.gz`. Every
// error names the file; bytes after the last gzip member are an error.
class WB_API DataFile {
 public:
  explicit DataFile(const std::string& path);  // throws wb::Error if missing or unreadable
  ~DataFile();
  DataFile(const DataFile&) = delete;
  DataFile& operator=(const DataFile&) = delete;

  const std::string& path() const { return path_; }
  // Reads up to n bytes; returns how many were read (fewer only at the end of the file).
  int64_t read(void* dst, int64_t n);
  // Up to n bytes as uint8 (M), M < n only at the end of the file. Read in chunks, so
  // that a header claiming more than the file holds (a corrupt count) costs memory for
  // what is there, not for the claim.
  torch::Tensor read_bytes(int64_t n);
  // Reads exactly n bytes or throws "PATH: truncated ... in WHAT".
  void read_exact(void* dst, int64_t n, const std::string& what);
  // A big-endian 32-bit integer (IDX headers); `what` names it in the error.
  uint32_t read_be32(const std::string& what);
  // True when no byte is left.
  bool at_end();
  // Throws "PATH: N more bytes after WHAT" unless no byte is left: a file longer than
  // its header says is as wrong as a shorter one.
  void expect_end(const std::string& what);

 private:
  void* file_;       // the reader (a plain file, or gzip members inflated one by one)
  int peeked_ = -1;  // a byte at_end() read ahead, or -1
  std::string path_;
};

// The first of dir/name + suffix for suffix in {"", ".gz"} that exists; otherwise throws
// naming both and `hint` (e.g. "set dataset.path").
WB_API std::string find_data_file(const std::string& dir, const std::string& name,
                                  const std::string& hint);

// Throws wb::Error naming `file` and the record when a label is outside [0, num_classes).
WB_API void check_labels(const torch::Tensor& labels, int64_t num_classes, const std::string& file);

// Validation carved from an official training set: a seeded random `fraction` of it;
// the rest is train. Both keep file order, and the same generator state always carves
// the same split. Returns {train, val}.
WB_API std::pair<ImageSplit, ImageSplit> split_off_validation(const ImageSplit& all,
                                                              double fraction,
                                                              torch::Generator& gen);

// Indices (int64, increasing) of `per_class` examples of every class present in
// `labels`, drawn by `gen`: the paper's low-data subsets (e.g. 4 or 25 labels per
// class). Throws if a class has fewer examples than asked.
WB_API torch::Tensor class_balanced_subset(const torch::Tensor& labels, int64_t per_class,
                                           torch::Generator& gen);

// The paper's augmentation for CIFAR-like data, applied before quantization: each image
// is padded by `pad` pixels with reflection, cropped back to its size at a random
// offset, and flipped horizontally with probability 1/2. uint8 (N, H, W, C) in and out.
WB_API torch::Tensor pad_crop_flip(const torch::Tensor& images, int64_t pad, torch::Generator& gen);

}  // namespace wb
