#include "cifar_records.hpp"

namespace cifar {

wb::ImageSplit read_records(const std::string& path, int64_t label_bytes, int64_t label_index,
                            int64_t num_classes) {
  wb::DataFile f(path);
  const int64_t record = label_bytes + kImageBytes;
  std::vector<uint8_t> bytes;
  std::vector<int64_t> labels;
  std::vector<uint8_t> buf(record);
  for (int64_t r = 0; !f.at_end(); ++r) {
    const int64_t got = f.read(buf.data(), record);
    if (got != record)
      throw wb::Error(
          fmt::format("{}: truncated: record {} has {} of its {} bytes", path, r, got, record));
    const int64_t label = buf[label_index];
    if (label >= num_classes)
      throw wb::Error(fmt::format("{}: label {} of record {} is out of range [0, {})", path, label,
                                  r, num_classes));
    labels.push_back(label);
    bytes.insert(bytes.end(), buf.begin() + label_bytes, buf.end());
  }
  if (labels.empty()) throw wb::Error(fmt::format("{}: holds no records", path));
  const auto n = static_cast<int64_t>(labels.size());
  // Planes (N, 3, 32, 32) -> (N, 32, 32, 3)
  auto planes = torch::from_blob(bytes.data(), {n, 3, kSide, kSide}, torch::kUInt8);
  return {planes.permute({0, 2, 3, 1}).contiguous(), torch::tensor(labels, torch::kLong)};
}

wb::ImageSplit read_files(const std::vector<std::string>& paths, int64_t label_bytes,
                          int64_t label_index, int64_t num_classes) {
  std::vector<torch::Tensor> images, labels;
  for (const auto& p : paths) {
    auto s = read_records(p, label_bytes, label_index, num_classes);
    images.push_back(s.images);
    labels.push_back(s.labels);
  }
  return {torch::cat(images), torch::cat(labels)};
}

}  // namespace cifar
