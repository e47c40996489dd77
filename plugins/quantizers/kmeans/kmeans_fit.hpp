#pragma once
// k-means on weighted points: greedy k-means++ seeding, then Lloyd iterations.
#include <cstdint>
#include <functional>
#include <vector>

#include "colour_set.hpp"

namespace kmeans {

struct FitOptions {
  int64_t k = 512;
  int64_t max_iter = 100;
  double tol = 1e-4;  // stop when the inertia falls by less than this fraction
  uint64_t seed = 0;
  // Candidates drawn per k-means++ step, the best one kept (greedy k-means++, as
  // scikit-learn does); 0 = 2 + ln k, scikit-learn's choice.
  int64_t local_trials = 0;
};

struct FitResult {
  std::vector<float> centroids;  // (k, dims)
  double inertia = 0;            // sum of weight x squared distance, final centroids
  int64_t iterations = 0;        // Lloyd steps taken
};

// Called after each Lloyd step with its number (from 1) and the inertia before it.
using OnIteration = std::function<void(int64_t, double)>;

// Throws std::invalid_argument when there are fewer distinct points than k.
FitResult fit(const ColourSet& data, const FitOptions& options, const OnIteration& on_iteration);

}  // namespace kmeans
