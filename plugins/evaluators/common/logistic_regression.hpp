#pragma once
// Multinomial logistic regression fitted full-batch with L-BFGS (the paper used
// scikit-learn's lbfgs) on standardised features.
#include <torch/types.h>

namespace probe {

struct Fit {
  torch::Tensor weight;     // (d, classes)
  torch::Tensor bias;       // (classes)
  torch::Tensor mean, std;  // of the training features, applied to every split
};

// x: float (N, d), y: int64 (N). Minimises mean cross-entropy + l2/2 * |W|^2; stops
// after max_iter iterations or when no gradient entry exceeds `tolerance`.
Fit fit_logistic(const torch::Tensor& x, const torch::Tensor& y, int64_t classes, double l2,
                 int64_t max_iter, double tolerance);
double accuracy(const Fit& fit, const torch::Tensor& x, const torch::Tensor& y);
// The predicted class of each row of x: int64 (N).
torch::Tensor predict(const Fit& fit, const torch::Tensor& x);

}  // namespace probe
