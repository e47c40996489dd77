#include "image_decode.hpp"

#include <stb_image.h>
#include <stb_image_resize.h>

#include <algorithm>
#include <cmath>
#include <random>

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

void decode_image(const std::string& file, int64_t size, int64_t channels, bool random,
                  uint64_t seed, uint8_t* dst) {
  int w = 0, h = 0, have = 0;
  uint8_t* img = stbi_load(file.c_str(), &w, &h, &have, static_cast<int>(channels));
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
