#pragma once
// The inner loop of k-means and of encoding: for each point, the nearest of k
// centroids. Points and centroids are float rows of `dims` values.
#include <cstdint>
#include <vector>

namespace kmeans {

// x (n, dims), centroids (k, dims), both row-major. Writes assign[i], the index of the
// nearest centroid (the lowest index on a tie), and dist[i], the squared distance to it.
// Parallel over points; the result does not depend on the thread count.
void nearest_centroid(const float* x, int64_t n, int64_t dims, const float* centroids, int64_t k,
                      int32_t* assign, float* dist);

}  // namespace kmeans
