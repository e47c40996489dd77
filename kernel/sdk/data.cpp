// The dataset helpers of workbench/data.hpp.
#include <workbench/data.hpp>

#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <vector>

#include <fmt/format.h>
#include <torch/nn/functional/padding.h>
#include <workbench/error.hpp>

namespace wb {

// The reader behind DataFile (its file_): a plain file read as it is, or a gzip file
// (by its first two bytes) inflated member by member. zlib's gzread would also serve,
// but it ignores data after the last member silently; here such trailing bytes are an
// error, as any byte a format does not account for is.
struct DataFileReader {
  std::FILE* f = nullptr;
  bool gzip = false, eof = false;
  z_stream z{};
  std::vector<unsigned char> in = std::vector<unsigned char>(1 << 20);

  ~DataFileReader() {
    if (gzip) inflateEnd(&z);
    if (f) std::fclose(f);
  }
  // Refills the input buffer when empty; false at the end of the file.
  bool fill(const std::string& path) {
    if (z.avail_in > 0) return true;
    const size_t got = std::fread(in.data(), 1, in.size(), f);
    if (got == 0 && std::ferror(f)) throw Error(fmt::format("{}: cannot read", path));
    z.next_in = in.data();
    z.avail_in = static_cast<uInt>(got);
    return got > 0;
  }
  int64_t read(char* dst, int64_t n, const std::string& path) {
    if (!gzip) return static_cast<int64_t>(std::fread(dst, 1, static_cast<size_t>(n), f));
    int64_t done = 0;
    while (done < n && !eof) {
      if (!fill(path))
        throw Error(fmt::format("{}: truncated gzip stream (it ends inside a member)", path));
      z.next_out = reinterpret_cast<Bytef*>(dst + done);
      z.avail_out = static_cast<uInt>(std::min<int64_t>(n - done, 1 << 30));
      const uInt before = z.avail_out;
      const int rc = inflate(&z, Z_NO_FLUSH);
      done += before - z.avail_out;
      if (rc == Z_STREAM_END) {
        // Another member may follow (gzip files may be concatenated); anything else is
        // trailing data.
        if (!fill(path)) {
          eof = true;
        } else if (z.avail_in >= 1 && z.next_in[0] == 0x1f) {
          inflateReset(&z);
        } else {
          int64_t extra = z.avail_in;
          while (std::fgetc(f) != EOF) ++extra;
          throw Error(
              fmt::format("{}: {} bytes of trailing data after the gzip stream", path, extra));
        }
      } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
        throw Error(fmt::format("{}: corrupt gzip stream: {}", path, z.msg ? z.msg : "error"));
      }
    }
    return done;
  }
};

namespace {
DataFileReader& reader(void* f) {
  return *static_cast<DataFileReader*>(f);
}
}  // namespace

DataFile::DataFile(const std::string& path) : file_(nullptr), path_(path) {
  if (!std::filesystem::exists(path)) throw Error(fmt::format("{}: not found", path));
  auto r = std::make_unique<DataFileReader>();
  r->f = std::fopen(path.c_str(), "rb");
  if (!r->f) throw Error(fmt::format("{}: cannot open", path));
  unsigned char magic[2] = {0, 0};
  const size_t got = std::fread(magic, 1, 2, r->f);
  r->gzip = got == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
  std::rewind(r->f);
  if (r->gzip && inflateInit2(&r->z, 16 + MAX_WBITS) != Z_OK)
    throw Error(fmt::format("{}: cannot start gzip decoding", path));
  file_ = r.release();
}

DataFile::~DataFile() {
  delete &reader(file_);
}

int64_t DataFile::read(void* dst, int64_t n) {
  int64_t done = 0;
  auto* p = static_cast<char*>(dst);
  if (n > 0 && peeked_ >= 0) {
    p[done++] = static_cast<char>(peeked_);
    peeked_ = -1;
  }
  if (done < n) done += reader(file_).read(p + done, n - done, path_);
  return done;
}

torch::Tensor DataFile::read_bytes(int64_t n) {
  constexpr int64_t kChunk = int64_t(64) << 20;
  std::vector<torch::Tensor> parts;
  for (int64_t total = 0; total < n;) {
    const int64_t want = std::min(kChunk, n - total);
    auto part = torch::empty({want}, torch::kUInt8);
    const int64_t got = read(part.data_ptr<uint8_t>(), want);
    parts.push_back(part.narrow(0, 0, got));
    total += got;
    if (got < want) break;
  }
  if (parts.empty()) return torch::empty({0}, torch::kUInt8);
  return parts.size() == 1 ? parts[0] : torch::cat(parts);
}

void DataFile::read_exact(void* dst, int64_t n, const std::string& what) {
  const int64_t got = read(dst, n);
  if (got != n)
    throw Error(fmt::format("{}: truncated: the file ends {} bytes into {} ({} bytes expected)",
                            path_, got, what, n));
}

uint32_t DataFile::read_be32(const std::string& what) {
  unsigned char b[4];
  read_exact(b, 4, what);
  return (uint32_t(b[0]) << 24) | (uint32_t(b[1]) << 16) | (uint32_t(b[2]) << 8) | b[3];
}

void DataFile::expect_end(const std::string& what) {
  if (at_end()) return;
  int64_t extra = 0;
  char buf[1 << 16];
  for (int64_t got; (got = read(buf, sizeof buf)) > 0;) extra += got;
  throw Error(fmt::format("{}: {} more bytes after {} (the file is longer than its header says)",
                          path_, extra, what));
}

bool DataFile::at_end() {
  if (peeked_ >= 0) return false;
  unsigned char c;
  if (read(&c, 1) != 1) return true;
  peeked_ = c;
  return false;
}

std::string find_data_file(const std::string& dir, const std::string& name,
                           const std::string& hint) {
  namespace fs = std::filesystem;
  for (const char* suffix : {"", ".gz"}) {
    fs::path p = fs::path(dir) / (name + suffix);
    if (fs::exists(p)) return p.string();
  }
  const std::string p = (fs::path(dir) / name).string();
  throw Error(fmt::format("{} not found (nor {}.gz); {}", p, p, hint));
}

void check_labels(const torch::Tensor& labels, int64_t num_classes, const std::string& file) {
  auto l = labels.to(torch::kLong).contiguous();
  const auto* p = l.data_ptr<int64_t>();
  for (int64_t i = 0; i < l.numel(); ++i)
    if (p[i] < 0 || p[i] >= num_classes)
      throw Error(fmt::format("{}: label {} of record {} is out of range [0, {})", file, p[i], i,
                              num_classes));
}

std::pair<ImageSplit, ImageSplit> split_off_validation(const ImageSplit& all, double fraction,
                                                       torch::Generator& gen) {
  if (fraction < 0 || fraction >= 1)
    throw Error(fmt::format("validation fraction {} is outside [0, 1)", fraction));
  const int64_t n = all.images.size(0);
  const auto n_val = static_cast<int64_t>(fraction * static_cast<double>(n));
  auto perm = torch::randperm(n, gen, torch::kLong);
  auto val_idx = std::get<0>(perm.slice(0, 0, n_val).sort());
  auto train_idx = std::get<0>(perm.slice(0, n_val).sort());
  return {{all.images.index_select(0, train_idx), all.labels.index_select(0, train_idx)},
          {all.images.index_select(0, val_idx), all.labels.index_select(0, val_idx)}};
}

torch::Tensor class_balanced_subset(const torch::Tensor& labels, int64_t per_class,
                                    torch::Generator& gen) {
  if (per_class < 1) throw Error("labels per class must be at least 1");
  const int64_t n = labels.size(0);
  // One seeded order over all examples; each class keeps its first per_class in it.
  auto order = torch::randperm(n, gen, torch::kLong);
  auto l = labels.to(torch::kLong).contiguous();
  const auto* lp = l.data_ptr<int64_t>();
  const auto* op = order.data_ptr<int64_t>();
  const int64_t classes = n ? l.max().item<int64_t>() + 1 : 0;
  std::vector<int64_t> taken(classes, 0), picked;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t j = op[i];
    if (taken[lp[j]] < per_class) {
      ++taken[lp[j]];
      picked.push_back(j);
    }
  }
  for (int64_t c = 0; c < classes; ++c)
    if (taken[c] > 0 && taken[c] < per_class)
      throw Error(fmt::format("{} labels per class asked, but class {} has only {} examples",
                              per_class, c, taken[c]));
  std::sort(picked.begin(), picked.end());
  return torch::tensor(picked, torch::kLong);
}

torch::Tensor pad_crop_flip(const torch::Tensor& images, int64_t pad, torch::Generator& gen) {
  const int64_t n = images.size(0), h = images.size(1), w = images.size(2);
  if (pad >= h || pad >= w)
    throw Error(fmt::format("pad {} must be smaller than the image ({}x{})", pad, h, w));
  namespace F = torch::nn::functional;
  // Reflection padding needs floats in (N, C, H, W).
  auto x = images.permute({0, 3, 1, 2}).to(torch::kFloat32);
  x = F::pad(x, F::PadFuncOptions({pad, pad, pad, pad}).mode(torch::kReflect));
  auto dy = torch::randint(0, 2 * pad + 1, {n}, gen, torch::kLong);
  auto dx = torch::randint(0, 2 * pad + 1, {n}, gen, torch::kLong);
  auto flip = torch::randint(0, 2, {n}, gen, torch::kLong);
  auto out = torch::empty_like(images);
  for (int64_t i = 0; i < n; ++i) {
    auto crop = x[i].narrow(1, dy[i].item<int64_t>(), h).narrow(2, dx[i].item<int64_t>(), w);
    if (flip[i].item<int64_t>()) crop = crop.flip({2});
    out[i].copy_(crop.permute({1, 2, 0}).to(torch::kUInt8));
  }
  return out;
}

}  // namespace wb
