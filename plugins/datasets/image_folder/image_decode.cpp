#include "image_decode.hpp"

#include <stb_image.h>
#include <stb_image_resize.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <vector>

#include <fmt/format.h>
#include <workbench/error.hpp>

namespace image_folder {

namespace {

struct Crop {
  int64_t x, y, w, h;  // a box in the decoded image
};

// The box the paper's evaluation transform keeps: the centred square of the shorter side.
Crop centre_square(int64_t w, int64_t h) {
  const int64_t s = std::min(w, h);
  return {(w - s) / 2, (h - s) / 2, s, s};
}

// torchvision's RandomResizedCrop box: area share in [0.08, 1], aspect in [3/4, 4/3]
// (log-uniform); the centre square when ten draws do not fit.
Crop random_resized(int64_t w, int64_t h, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> area(0.08, 1.0),
      log_ratio(std::log(3.0 / 4), std::log(4.0 / 3));
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double a = area(rng) * double(w) * double(h), r = std::exp(log_ratio(rng));
    const auto cw = static_cast<int64_t>(std::lround(std::sqrt(a * r)));
    const auto ch = static_cast<int64_t>(std::lround(std::sqrt(a / r)));
    if (cw > 0 && ch > 0 && cw <= w && ch <= h) {
      std::uniform_int_distribution<int64_t> ox(0, w - cw), oy(0, h - ch);
      return {ox(rng), oy(rng), cw, ch};
    }
  }
  return centre_square(w, h);
}

}  // namespace

namespace {

// stb_image trusts the sizes a file claims: a PNG chunk or a JPEG's dimensions can
// make it allocate gigabytes for a file of a few bytes (found by tools/fuzz.sh). Both
// are checked before stb sees the file.
constexpr int64_t kMaxSide = 8192;  // 64 megapixels; photos of datasets are far smaller

bool is_png(const std::vector<uint8_t>& bytes) {
  static const uint8_t kSignature[8] = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a};
  return bytes.size() >= 8 && std::memcmp(bytes.data(), kSignature, 8) == 0;
}

bool is_jpeg(const std::vector<uint8_t>& bytes) {
  return bytes.size() >= 3 && bytes[0] == 0xff && bytes[1] == 0xd8 && bytes[2] == 0xff;
}

// Why `bytes` (a PNG) claims a chunk longer than the file, or "".
std::string png_chunk_problem(const std::vector<uint8_t>& bytes) {
  for (size_t at = 8; at + 8 <= bytes.size();) {
    const uint64_t length = (uint64_t(bytes[at]) << 24) | (uint64_t(bytes[at + 1]) << 16) |
                            (uint64_t(bytes[at + 2]) << 8) | uint64_t(bytes[at + 3]);
    if (at + 12 + length > bytes.size())
      return fmt::format("a PNG chunk at byte {} claims {} bytes, past the end of the file", at,
                         length);
    if (std::memcmp(&bytes[at + 4], "IEND", 4) == 0) break;
    at += 12 + length;
  }
  return "";
}

}  // namespace

void decode_image(const std::string& file, int64_t size, int64_t channels, bool random,
                  uint64_t seed, uint8_t* dst) {
  std::ifstream in(file, std::ios::binary);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), {});
  if (!in.eof() && !in) throw wb::Error(fmt::format("{}: cannot read", file));
  if (bytes.empty()) throw wb::Error(fmt::format("{}: cannot decode image: empty file", file));
  // JPEG and PNG only: stb_image would also take GIF, BMP, PSD, PNM and more, whatever
  // the file's name says, and each decoder is more code to trust.
  const bool png = is_png(bytes);
  if (!png && !is_jpeg(bytes))
    throw wb::Error(fmt::format("{}: cannot decode image: neither JPEG nor PNG", file));
  if (const std::string problem = png ? png_chunk_problem(bytes) : ""; !problem.empty())
    throw wb::Error(fmt::format("{}: cannot decode image: {}", file, problem));
  const int n = static_cast<int>(std::min<size_t>(bytes.size(), INT32_MAX));
  int w = 0, h = 0, have = 0;
  if (!stbi_info_from_memory(bytes.data(), n, &w, &h, &have))
    throw wb::Error(fmt::format("{}: cannot decode image: {}", file, stbi_failure_reason()));
  if (w <= 0 || h <= 0)
    throw wb::Error(fmt::format("{}: cannot decode image: {}x{} pixels", file, w, h));
  if (w > kMaxSide || h > kMaxSide)
    throw wb::Error(fmt::format("{}: cannot decode image: {}x{} is larger than {} a side", file, w,
                                h, kMaxSide));
  uint8_t* img = stbi_load_from_memory(bytes.data(), n, &w, &h, &have, static_cast<int>(channels));
  if (!img)
    throw wb::Error(fmt::format("{}: cannot decode image: {}", file, stbi_failure_reason()));
  std::mt19937_64 rng(seed);
  const Crop c = random ? random_resized(w, h, rng) : centre_square(w, h);
  const uint8_t* from = img + (c.y * w + c.x) * channels;
  const int ok = stbir_resize_uint8(from, static_cast<int>(c.w), static_cast<int>(c.h),
                                    static_cast<int>(w * channels), dst, static_cast<int>(size),
                                    static_cast<int>(size), 0, static_cast<int>(channels));
  stbi_image_free(img);
  if (!ok) throw wb::Error(fmt::format("{}: cannot resize image", file));
}

}  // namespace image_folder
