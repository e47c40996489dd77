#include "nearest_centroid.hpp"

#include <ATen/Parallel.h>

#include <algorithm>
#include <limits>
#include <stdexcept>

#include "simd.hpp"

namespace kmeans {

namespace {

// Points per tile: two vectors, so two independent compare-and-select chains hide
// each other's latency. A tile's coordinates, best distances and indices live in
// registers while every centroid streams past them.
constexpr int64_t kTile = 2 * kLanes;

// One tile of points, stored by channel (xs[e * kTile + p]), against all centroids.
// |x - c|^2 = |x|^2 + (|c|^2 - 2 x.c): the bracket decides the argmin, |x|^2 is added
// by the caller.
template <int D>
KMEANS_KERNEL void tile_nearest(const float* xs, int64_t dims, const float* minus2c,
                                const float* c2, int64_t k, float* best, int32_t* idx) {
  const int64_t nd = D > 0 ? D : dims;
  VecF x[2][8];
  for (int64_t e = 0; e < nd; ++e)
    for (int h = 0; h < 2; ++h) x[h][e] = load(xs + e * kTile + h * kLanes);
  VecF b0 = splat(std::numeric_limits<float>::infinity()), b1 = b0;
  VecI i0 = splat(int32_t{0}), i1 = i0;
  // The centroid index as a vector that counts up: broadcasting j afresh each step
  // compiles to one masked move per lane.
  VecI jj = i0;
  const VecI one = splat(int32_t{1});
  for (int64_t j = 0; j < k; ++j, jj += one) {
    const float* mc = minus2c + j * nd;
    VecF d0 = splat(c2[j]), d1 = d0;
    for (int64_t e = 0; e < nd; ++e) {
      d0 += x[0][e] * mc[e];
      d1 += x[1][e] * mc[e];
    }
    const VecI lt0 = d0 < b0, lt1 = d1 < b1;
    b0 = lt0 ? d0 : b0;
    i0 = lt0 ? jj : i0;
    b1 = lt1 ? d1 : b1;
    i1 = lt1 ? jj : i1;
  }
  store(best, b0);
  store(best + kLanes, b1);
  store(idx, i0);
  store(idx + kLanes, i1);
}

}  // namespace

void nearest_centroid(const float* x, int64_t n, int64_t dims, const float* centroids, int64_t k,
                      int32_t* assign, float* dist) {
  if (dims < 1 || dims > 8) throw std::invalid_argument("kmeans: points need 1 to 8 channels");
  std::vector<float> minus2c(k * dims), c2(k, 0.0f);
  for (int64_t j = 0; j < k; ++j)
    for (int64_t e = 0; e < dims; ++e) {
      const float v = centroids[j * dims + e];
      minus2c[j * dims + e] = -2.0f * v;
      c2[j] += v * v;
    }
  const int64_t tiles = (n + kTile - 1) / kTile;
  at::parallel_for(0, tiles, 16, [&](int64_t t0, int64_t t1) {
    std::vector<float> xs(kTile * dims, 0.0f), best(kTile);
    std::vector<int32_t> idx(kTile);
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t first = t * kTile, m = std::min(kTile, n - first);
      for (int64_t p = 0; p < m; ++p)
        for (int64_t e = 0; e < dims; ++e) xs[e * kTile + p] = x[(first + p) * dims + e];
      switch (dims) {
        case 1:
          tile_nearest<1>(xs.data(), dims, minus2c.data(), c2.data(), k, best.data(), idx.data());
          break;
        case 3:
          tile_nearest<3>(xs.data(), dims, minus2c.data(), c2.data(), k, best.data(), idx.data());
          break;
        default:
          tile_nearest<0>(xs.data(), dims, minus2c.data(), c2.data(), k, best.data(), idx.data());
      }
      for (int64_t p = 0; p < m; ++p) {
        float x2 = 0;
        for (int64_t e = 0; e < dims; ++e) x2 += xs[e * kTile + p] * xs[e * kTile + p];
        assign[first + p] = idx[p];
        dist[first + p] = std::max(0.0f, best[p] + x2);
      }
    }
  });
}

}  // namespace kmeans
