#include "platform/files.hpp"

#include <algorithm>
#include <fstream>
#include <iterator>

#include <fmt/format.h>
#include <workbench/error.hpp>

namespace wb {

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(fmt::format("{}: cannot be read", path.string()));
  return {std::istreambuf_iterator<char>(in), {}};
}

bool lies_within(const std::filesystem::path& root, const std::filesystem::path& real) {
  const auto [end, _] = std::mismatch(root.begin(), root.end(), real.begin(), real.end());
  return end == root.end();
}

}  // namespace wb
