#pragma once
// The CIFAR binary format ("binary version" of CIFAR-10 and CIFAR-100): records of
// `label_bytes` label bytes, then 3072 image bytes: the red, green and blue planes of a
// 32x32 image, each row-major.
#include <string>
#include <vector>

#include <workbench/workbench.hpp>

namespace cifar {

constexpr int64_t kSide = 32, kImageBytes = 3 * kSide * kSide;

// All records of one file; the label kept is byte `label_index` of each record's
// labels, checked against num_classes. A partial last record is an error naming it.
wb::ImageSplit read_records(const std::string& path, int64_t label_bytes, int64_t label_index,
                            int64_t num_classes);

// Several files' records, concatenated in order.
wb::ImageSplit read_files(const std::vector<std::string>& paths, int64_t label_bytes,
                          int64_t label_index, int64_t num_classes);

}  // namespace cifar
