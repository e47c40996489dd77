#pragma once
// Pixels are bytes: a grey image has at most 256 distinct values and an RGB one at most
// 2^24, so k-means runs on the distinct colours weighted by their counts (the same
// objective, the same k-means++ distribution, the same Lloyd steps) and encoding finds
// the nearest centroid once per distinct colour. Work grows with the colours, not the
// images.
#include <cstdint>
#include <vector>

namespace kmeans {

// Most channels a pixel may have (colour keys are packed into 64 bits).
constexpr int64_t kMaxChannels = 8;

struct ColourSet {
  int64_t dims = 0;
  std::vector<float> x;       // (size, dims), each channel v / 127.5 - 1, in [-1, 1]
  std::vector<float> weight;  // (size): how many pixels have this colour
  int64_t size() const { return static_cast<int64_t>(weight.size()); }
};

// The distinct colours of n uint8 pixels of `dims` channels, in a fixed order.
ColourSet distinct_colours(const uint8_t* pixels, int64_t n, int64_t dims);

// tokens[i] = the nearest of k centroids (k, dims) to pixel i.
void encode_pixels(const uint8_t* pixels, int64_t n, int64_t dims, const float* centroids,
                   int64_t k, int64_t* tokens);

}  // namespace kmeans
