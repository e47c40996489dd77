#include "safetensors.hpp"

#include <cstring>
#include <fstream>
#include <limits>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <workbench/error.hpp>

namespace igpt {

namespace {

// The format's dtype names, with LibTorch's type.
const std::map<std::string, torch::ScalarType> kDtypes = {
    {"F64", torch::kFloat64},   {"F32", torch::kFloat32}, {"F16", torch::kFloat16},
    {"BF16", torch::kBFloat16}, {"I64", torch::kInt64},   {"I32", torch::kInt32},
    {"I16", torch::kInt16},     {"I8", torch::kInt8},     {"U8", torch::kUInt8},
    {"BOOL", torch::kBool}};

// The format caps the header at 100 MB; a larger claim is a damaged file.
constexpr uint64_t kMaxHeader = 100'000'000;

}  // namespace

std::map<std::string, torch::Tensor> read_safetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw wb::Error(fmt::format("{}: cannot open", path));
  in.seekg(0, std::ios::end);
  const uint64_t size = static_cast<uint64_t>(in.tellg());
  in.seekg(0);
  unsigned char len_bytes[8];
  if (size < 8 || !in.read(reinterpret_cast<char*>(len_bytes), 8))
    throw wb::Error(fmt::format("{}: too short for a safetensors file ({} bytes)", path, size));
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | len_bytes[i];  // little-endian
  if (header_len > kMaxHeader || header_len > size - 8)
    throw wb::Error(
        fmt::format("{}: header of {} bytes claimed, file has {}: not a safetensors "
                    "file, or truncated",
                    path, header_len, size));
  std::string header(header_len, '\0');
  in.read(header.data(), static_cast<std::streamsize>(header_len));
  nlohmann::json meta;
  try {
    meta = nlohmann::json::parse(header);
  } catch (const std::exception& e) {
    throw wb::Error(fmt::format("{}: header is not JSON: {}", path, e.what()));
  }
  if (!meta.is_object()) throw wb::Error(fmt::format("{}: header is not a JSON object", path));
  const uint64_t data_start = 8 + header_len;
  std::map<std::string, torch::Tensor> out;
  for (const auto& item : meta.items()) {
    const std::string name = item.key();
    const auto& entry = item.value();
    if (name == "__metadata__") continue;
    auto bad = [&](const std::string& why) {
      return wb::Error(fmt::format("{}: tensor '{}': {}", path, name, why));
    };
    try {
      if (!entry.is_object() || !entry.contains("dtype") || !entry.contains("shape") ||
          !entry.contains("data_offsets"))
        throw bad("needs dtype, shape and data_offsets");
      const auto dtype_it = kDtypes.find(entry["dtype"].get<std::string>());
      if (dtype_it == kDtypes.end())
        throw bad(fmt::format("dtype {} is not read here", entry["dtype"].dump()));
      std::vector<int64_t> shape;
      uint64_t numel = 1;
      for (const auto& d : entry["shape"]) {
        const auto v = d.get<int64_t>();
        if (v < 0) throw bad("negative dimension");
        shape.push_back(v);
        if (v != 0 && numel > std::numeric_limits<uint64_t>::max() / uint64_t(v))
          throw bad("shape overflows");
        numel *= uint64_t(v);
      }
      const auto& offsets = entry["data_offsets"];
      if (!offsets.is_array() || offsets.size() != 2) throw bad("data_offsets is not [begin, end]");
      const uint64_t begin = offsets[0].get<uint64_t>(), end = offsets[1].get<uint64_t>();
      const uint64_t bytes = numel * torch::elementSize(dtype_it->second);
      if (end < begin || end - begin != bytes)
        throw bad(fmt::format("data_offsets [{}, {}] hold {} bytes, its shape needs {}", begin, end,
                              end - begin, bytes));
      if (data_start + end > size)
        throw bad(fmt::format("ends at byte {}, past the file's {} (truncated?)", data_start + end,
                              size));
      auto t = torch::empty(shape, torch::TensorOptions().dtype(dtype_it->second));
      in.seekg(static_cast<std::streamoff>(data_start + begin));
      if (bytes && !in.read(static_cast<char*>(t.data_ptr()), static_cast<std::streamsize>(bytes)))
        throw bad("read failed");
      out[name] = t;
    } catch (const nlohmann::json::exception& e) {  // a field of the wrong JSON type
      throw bad(e.what());
    }
  }
  return out;
}

}  // namespace igpt
