#include "stl10_records.hpp"

#include <vector>

namespace stl10 {

torch::Tensor read_images(const std::string& path) {
  wb::DataFile f(path);
  std::vector<uint8_t> bytes;
  std::vector<uint8_t> buf(kImageBytes);
  for (int64_t r = 0; !f.at_end(); ++r) {
    const int64_t got = f.read(buf.data(), kImageBytes);
    if (got != kImageBytes)
      throw wb::Error(
          fmt::format("{}: truncated: image {} has {} of its {} bytes", path, r, got, kImageBytes));
    bytes.insert(bytes.end(), buf.begin(), buf.end());
  }
  if (bytes.empty()) throw wb::Error(fmt::format("{}: holds no images", path));
  const int64_t n = static_cast<int64_t>(bytes.size()) / kImageBytes;
  // (N, C, W, H) in file order -> (N, H, W, C)
  auto raw = torch::from_blob(bytes.data(), {n, 3, kSide, kSide}, torch::kUInt8);
  return raw.permute({0, 3, 2, 1}).contiguous();
}

torch::Tensor read_labels(const std::string& path, int64_t expected) {
  wb::DataFile f(path);
  auto bytes = torch::empty({expected}, torch::kUInt8);
  const int64_t got = f.read(bytes.data_ptr<uint8_t>(), expected);
  if (got != expected || !f.at_end())
    throw wb::Error(fmt::format(
        "{}: holds {} labels for {} images", path,
        got == expected ? fmt::format("more than {}", got) : std::to_string(got), expected));
  const auto* p = bytes.data_ptr<uint8_t>();
  for (int64_t i = 0; i < expected; ++i)
    if (p[i] < 1 || p[i] > 10)
      throw wb::Error(
          fmt::format("{}: label {} of record {} is out of range [1, 10]", path, p[i], i));
  return bytes.to(torch::kLong) - 1;  // 1..10 -> 0..9
}

}  // namespace stl10
