#include "colour_set.hpp"

#include <ATen/Parallel.h>

#include <algorithm>
#include <stdexcept>

#include "nearest_centroid.hpp"

namespace kmeans {

namespace {

uint64_t key_of(const uint8_t* p, int64_t dims) {
  uint64_t key = 0;
  for (int64_t e = 0; e < dims; ++e) key = (key << 8) | p[e];
  return key;
}

// Up to 3 channels a dense table over every possible colour (at most 2^24 entries) is
// cheaper than sorting; more channels sort the keys.
bool dense(int64_t dims) {
  return dims <= 3;
}

// Distinct keys in increasing order, and how often each occurs.
void count_keys(const uint8_t* pixels, int64_t n, int64_t dims, std::vector<uint64_t>& keys,
                std::vector<float>& counts) {
  if (dims < 1 || dims > kMaxChannels)
    throw std::invalid_argument("kmeans: pixels need 1 to 8 channels");
  keys.clear();
  counts.clear();
  if (dense(dims)) {
    std::vector<uint32_t> table(size_t(1) << (8 * dims), 0);
    for (int64_t i = 0; i < n; ++i) ++table[key_of(pixels + i * dims, dims)];
    for (size_t key = 0; key < table.size(); ++key)
      if (table[key]) {
        keys.push_back(key);
        counts.push_back(static_cast<float>(table[key]));
      }
    return;
  }
  std::vector<uint64_t> all(n);
  for (int64_t i = 0; i < n; ++i) all[i] = key_of(pixels + i * dims, dims);
  std::sort(all.begin(), all.end());
  for (int64_t i = 0; i < n;) {
    int64_t j = i;
    while (j < n && all[j] == all[i]) ++j;
    keys.push_back(all[i]);
    counts.push_back(static_cast<float>(j - i));
    i = j;
  }
}

std::vector<float> scaled(const std::vector<uint64_t>& keys, int64_t dims) {
  std::vector<float> x(keys.size() * dims);
  for (size_t i = 0; i < keys.size(); ++i)
    for (int64_t e = 0; e < dims; ++e) {
      const auto v = static_cast<float>((keys[i] >> (8 * (dims - 1 - e))) & 0xff);
      x[i * dims + e] = v / 127.5f - 1.0f;
    }
  return x;
}

}  // namespace

ColourSet distinct_colours(const uint8_t* pixels, int64_t n, int64_t dims) {
  ColourSet set;
  set.dims = dims;
  std::vector<uint64_t> keys;
  count_keys(pixels, n, dims, keys, set.weight);
  set.x = scaled(keys, dims);
  return set;
}

void encode_pixels(const uint8_t* pixels, int64_t n, int64_t dims, const float* centroids,
                   int64_t k, int64_t* tokens) {
  // Fewer pixels than a quarter of the colour table: filling and scanning the table
  // would cost more than it saves, so every pixel goes to the kernel.
  if (dense(dims) && n < (int64_t(1) << (8 * dims)) / 4) {
    std::vector<float> x(n * dims);
    for (int64_t i = 0; i < n * dims; ++i) x[i] = pixels[i] / 127.5f - 1.0f;
    std::vector<int32_t> nearest(n);
    std::vector<float> dist(n);
    nearest_centroid(x.data(), n, dims, centroids, k, nearest.data(), dist.data());
    std::copy(nearest.begin(), nearest.end(), tokens);
    return;
  }
  std::vector<uint64_t> keys;
  std::vector<float> counts;
  count_keys(pixels, n, dims, keys, counts);
  const auto u = static_cast<int64_t>(keys.size());
  std::vector<int32_t> nearest(u);
  std::vector<float> dist(u);
  const std::vector<float> x = scaled(keys, dims);
  nearest_centroid(x.data(), u, dims, centroids, k, nearest.data(), dist.data());
  if (dense(dims)) {
    std::vector<int32_t> table(size_t(1) << (8 * dims), 0);
    for (int64_t i = 0; i < u; ++i) table[keys[i]] = nearest[i];
    at::parallel_for(0, n, 65536, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) tokens[i] = table[key_of(pixels + i * dims, dims)];
    });
    return;
  }
  at::parallel_for(0, n, 65536, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const uint64_t key = key_of(pixels + i * dims, dims);
      tokens[i] = nearest[std::lower_bound(keys.begin(), keys.end(), key) - keys.begin()];
    }
  });
}

}  // namespace kmeans
