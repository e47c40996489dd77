#include "kmeans_fit.hpp"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>
#include <string>

#include "nearest_centroid.hpp"
#include "simd.hpp"

namespace kmeans {

namespace {

// Points per chunk of a reduction (a multiple of kLanes). Sums are taken per chunk, then over
// chunks in order, so a result never depends on how many threads ran.
constexpr int64_t kChunk = 4096;

int64_t chunks_of(int64_t n) {
  return (n + kChunk - 1) / kChunk;
}

// The points stored by channel (x[e * stride + i]) and padded with weightless points to
// a whole number of chunks, so the kernels below run on whole vectors.
struct PointsByChannel {
  int64_t n = 0, stride = 0, dims = 0;
  std::vector<float> x, w;
  explicit PointsByChannel(const ColourSet& data)
      : n(data.size()), stride(chunks_of(n) * kChunk), dims(data.dims) {
    x.assign(dims * stride, 0.0f);
    w.assign(stride, 0.0f);
    for (int64_t i = 0; i < n; ++i) {
      w[i] = data.weight[i];
      for (int64_t e = 0; e < dims; ++e) x[e * stride + i] = data.x[i * dims + e];
    }
  }
};

// |x_p - c|^2 for the kLanes points starting at x (stored by channel, `stride` apart).
template <int D>
inline VecF squared_distance(const float* x, int64_t stride, int64_t dims, const float* c) {
  const int64_t nd = D > 0 ? D : dims;
  VecF d = splat(0.0f);
  for (int64_t e = 0; e < nd; ++e) {
    const VecF t = load(x + e * stride) - c[e];
    d += t * t;
  }
  return d;
}

// d2[i] = min(d2[i], |x_i - c|^2) over m points (a multiple of kLanes); returns the sum
// of w_i d2[i] after.
template <int D>
KMEANS_KERNEL float update_chunk(const float* x, int64_t stride, int64_t dims, const float* w,
                                 float* d2, int64_t m, const float* c) {
  VecF s = splat(0.0f);
  for (int64_t p = 0; p < m; p += kLanes) {
    const VecF nd2 = vmin(load(d2 + p), squared_distance<D>(x + p, stride, dims, c));
    store(d2 + p, nd2);
    s += load(w + p) * nd2;
  }
  return sum(s);
}

// The potential sum w_i min(d2_i, |x_i - c|^2) of candidate c over m points.
template <int D>
KMEANS_KERNEL float potential_chunk(const float* x, int64_t stride, int64_t dims, const float* w,
                                    const float* d2, int64_t m, const float* c) {
  VecF s = splat(0.0f);
  for (int64_t p = 0; p < m; p += kLanes) {
    s += load(w + p) * vmin(load(d2 + p), squared_distance<D>(x + p, stride, dims, c));
  }
  return sum(s);
}

template <int D>
std::vector<float> seed_plus_plus_d(const ColourSet& data, int64_t k, int64_t trials,
                                    std::mt19937_64& rng) {
  const PointsByChannel pts(data);
  const int64_t n = pts.n, dims = pts.dims, stride = pts.stride, chunks = stride / kChunk;
  const float* x = pts.x.data();
  const float* w = pts.w.data();
  std::vector<float> c(k * dims), d2(stride, 0.0f);
  std::fill_n(d2.begin(), n, INFINITY);  // padding keeps 0: no mass, never drawn
  std::vector<double> chunk_pot(chunks);

  // The point where the running sum of w_i (or of w_i d2_i) passes a uniform draw.
  auto draw = [&](bool by_distance, double total) {
    double r = std::uniform_real_distribution<double>(0.0, total)(rng);
    int64_t ch = 0;
    if (by_distance)
      while (ch + 1 < chunks && r >= chunk_pot[ch]) r -= chunk_pot[ch++];
    const int64_t begin = by_distance ? ch * kChunk : 0;
    const int64_t end = by_distance ? std::min(n, (ch + 1) * kChunk) : n;
    int64_t last = -1;
    for (int64_t i = begin; i < end; ++i) {
      const double mass = double(w[i]) * (by_distance ? double(d2[i]) : 1.0);
      if (mass <= 0) continue;
      last = i;
      if (r < mass) return i;
      r -= mass;
    }
    return last;  // rounding ran past the end: the last point with mass
  };
  auto centre_of = [&](int64_t i, float* out) {
    for (int64_t e = 0; e < dims; ++e) out[e] = x[e * stride + i];
  };
  auto update = [&](const float* centre) {
    at::parallel_for(0, chunks, 1, [&](int64_t b, int64_t e) {
      for (int64_t ch = b; ch < e; ++ch)
        chunk_pot[ch] = update_chunk<D>(x + ch * kChunk, stride, dims, w + ch * kChunk,
                                        d2.data() + ch * kChunk, kChunk, centre);
    });
    double total = 0;
    for (double p : chunk_pot) total += p;
    return total;
  };

  double total_weight = 0;
  for (float v : data.weight) total_weight += v;
  centre_of(draw(false, total_weight), c.data());
  double pot = update(c.data());
  std::vector<float> cand(trials * dims);
  std::vector<double> part(chunks * trials);
  for (int64_t j = 1; j < k; ++j) {
    for (int64_t t = 0; t < trials; ++t) centre_of(draw(true, pot), cand.data() + t * dims);
    at::parallel_for(0, chunks, 1, [&](int64_t b, int64_t e) {
      for (int64_t ch = b; ch < e; ++ch)
        for (int64_t t = 0; t < trials; ++t)
          part[ch * trials + t] =
              potential_chunk<D>(x + ch * kChunk, stride, dims, w + ch * kChunk,
                                 d2.data() + ch * kChunk, kChunk, cand.data() + t * dims);
    });
    int64_t best = 0;
    double best_pot = INFINITY;
    for (int64_t t = 0; t < trials; ++t) {
      double p = 0;
      for (int64_t ch = 0; ch < chunks; ++ch) p += part[ch * trials + t];
      if (p < best_pot) best_pot = p, best = t;
    }
    std::copy_n(cand.data() + best * dims, dims, c.data() + j * dims);
    pot = update(c.data() + j * dims);
  }
  return c;
}

// Greedy k-means++ on weighted points: each next centroid is the best (lowest
// potential) of `trials` points drawn with probability w d^2 to the nearest chosen.
std::vector<float> seed_plus_plus(const ColourSet& data, int64_t k, int64_t trials,
                                  std::mt19937_64& rng) {
  switch (data.dims) {
    case 1:
      return seed_plus_plus_d<1>(data, k, trials, rng);
    case 3:
      return seed_plus_plus_d<3>(data, k, trials, rng);
    default:
      return seed_plus_plus_d<0>(data, k, trials, rng);
  }
}

// Assignments and the inertia of centroids c.
double assign_all(const ColourSet& data, const std::vector<float>& c, int64_t k,
                  std::vector<int32_t>& assign, std::vector<float>& dist) {
  const int64_t n = data.size();
  nearest_centroid(data.x.data(), n, data.dims, c.data(), k, assign.data(), dist.data());
  double inertia = 0;
  for (int64_t i = 0; i < n; ++i) inertia += double(data.weight[i]) * dist[i];
  return inertia;
}

}  // namespace

FitResult fit(const ColourSet& data, const FitOptions& options, const OnIteration& on_iteration) {
  const int64_t k = options.k, n = data.size(), dims = data.dims;
  if (n < k)
    throw std::invalid_argument("the sample has only " + std::to_string(n) +
                                " distinct colours, fewer than k = " + std::to_string(k));
  const int64_t trials = options.local_trials > 0
                             ? options.local_trials
                             : 2 + static_cast<int64_t>(std::log(static_cast<double>(k)));
  std::mt19937_64 rng(options.seed);
  FitResult r;
  r.centroids = seed_plus_plus(data, k, trials, rng);
  std::vector<int32_t> assign(n);
  std::vector<float> dist(n);
  double last = INFINITY;
  for (int64_t it = 0; it < options.max_iter; ++it) {
    const double inertia = assign_all(data, r.centroids, k, assign, dist);
    // Lloyd step: each centroid moves to the weighted mean of its points; an empty
    // cluster keeps its place.
    std::vector<double> sums(k * dims, 0.0), mass(k, 0.0);
    for (int64_t i = 0; i < n; ++i) {
      const double wi = data.weight[i];
      mass[assign[i]] += wi;
      for (int64_t e = 0; e < dims; ++e) sums[assign[i] * dims + e] += wi * data.x[i * dims + e];
    }
    for (int64_t j = 0; j < k; ++j)
      if (mass[j] > 0)
        for (int64_t e = 0; e < dims; ++e)
          r.centroids[j * dims + e] = static_cast<float>(sums[j * dims + e] / mass[j]);
    r.iterations = it + 1;
    if (on_iteration) on_iteration(r.iterations, inertia);
    if (std::isfinite(last) && last - inertia <= options.tol * last) break;
    last = inertia;
  }
  r.inertia = assign_all(data, r.centroids, k, assign, dist);
  return r;
}

}  // namespace kmeans
