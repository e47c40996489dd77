#pragma once
// IDX files (the MNIST family's format), gzip-compressed or raw.
#include <string>

#include <torch/types.h>

namespace fmnist {

// images: magic 0x00000803, then N, rows, cols (big-endian uint32), then N*rows*cols
// bytes. Returns uint8 (N, rows, cols, 1). Throws wb::Error naming the file and the
// first incomplete record on a wrong magic number or a truncated file.
torch::Tensor read_idx_images(const std::string& path);
// labels: magic 0x00000801, then N, then N bytes. Returns int64 (N); every label must
// be below num_classes.
torch::Tensor read_idx_labels(const std::string& path, int64_t num_classes);

}  // namespace fmnist
