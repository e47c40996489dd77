#include "idx_file.hpp"

#include <zlib.h>

#include <memory>

#include <fmt/format.h>

#include <workbench/error.hpp>

namespace fmnist {

namespace {

// gzread reads plain files as they are, so one reader serves .gz and raw IDX.
struct GzFile {
  gzFile f;
  std::string path;
  explicit GzFile(const std::string& p) : f(gzopen(p.c_str(), "rb")), path(p) {
    if (!f) throw wb::Error(fmt::format("{}: cannot open", path));
    gzbuffer(f, 1 << 20);
  }
  ~GzFile() { gzclose(f); }
  // Reads up to n bytes; returns how many were read.
  int64_t read(void* dst, int64_t n) {
    int64_t done = 0;
    auto* p = static_cast<char*>(dst);
    while (done < n) {
      unsigned chunk = static_cast<unsigned>(std::min<int64_t>(n - done, 1 << 30));
      int got = gzread(f, p + done, chunk);
      if (got < 0) {
        int err = 0;
        throw wb::Error(fmt::format("{}: corrupt gzip stream: {}", path, gzerror(f, &err)));
      }
      if (got == 0) break;
      done += got;
    }
    return done;
  }
  uint32_t be32(const char* what) {
    unsigned char b[4];
    if (read(b, 4) != 4) throw wb::Error(fmt::format("{}: truncated header (no {})", path, what));
    return (uint32_t(b[0]) << 24) | (uint32_t(b[1]) << 16) | (uint32_t(b[2]) << 8) | b[3];
  }
};

void check_magic(GzFile& f, uint32_t want, const char* kind) {
  uint32_t magic = f.be32("magic number");
  if (magic != want)
    throw wb::Error(fmt::format("{}: wrong magic number 0x{:08x}, expected 0x{:08x} for IDX {}",
                                f.path, magic, want, kind));
}

}  // namespace

torch::Tensor read_idx_images(const std::string& path) {
  GzFile f(path);
  check_magic(f, 0x00000803, "images");
  const int64_t n = f.be32("image count"), rows = f.be32("row count"),
                cols = f.be32("column count");
  if (rows == 0 || cols == 0 || rows > 4096 || cols > 4096)
    throw wb::Error(fmt::format("{}: implausible image size {}x{}", path, rows, cols));
  auto images = torch::empty({n, rows, cols, 1}, torch::kUInt8);
  const int64_t want = n * rows * cols;
  const int64_t got = f.read(images.data_ptr<uint8_t>(), want);
  if (got != want)
    throw wb::Error(
        fmt::format("{}: truncated: header promises {} images of {}x{} ({} bytes) but "
                    "the file ends after {} bytes, inside image {}",
                    path, n, rows, cols, want, got, got / (rows * cols)));
  return images;
}

torch::Tensor read_idx_labels(const std::string& path, int64_t num_classes) {
  GzFile f(path);
  check_magic(f, 0x00000801, "labels");
  const int64_t n = f.be32("label count");
  auto bytes = torch::empty({n}, torch::kUInt8);
  const int64_t got = f.read(bytes.data_ptr<uint8_t>(), n);
  if (got != n)
    throw wb::Error(
        fmt::format("{}: truncated: header promises {} labels, the file holds {}", path, n, got));
  const auto* p = bytes.data_ptr<uint8_t>();
  for (int64_t i = 0; i < n; ++i)
    if (p[i] >= num_classes)
      throw wb::Error(fmt::format("{}: label {} of record {} is out of range [0, {})", path, p[i],
                                  i, num_classes));
  return bytes.to(torch::kLong);
}

}  // namespace fmnist
