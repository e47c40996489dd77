#include "logistic_regression.hpp"

#include <torch/nn/functional/loss.h>
#include <torch/optim/lbfgs.h>

namespace probe {

namespace {
torch::Tensor standardise(const Fit& f, const torch::Tensor& x) {
  return (x - f.mean) / f.std;
}
}  // namespace

Fit fit_logistic(const torch::Tensor& x, const torch::Tensor& y, int64_t classes, double l2,
                 int64_t max_iter, double tolerance) {
  Fit f;
  f.mean = x.mean(0);
  f.std = x.std(0).clamp_min(1e-6);  // a constant feature must not divide by zero
  auto xs = standardise(f, x).detach();
  f.weight = torch::zeros({x.size(1), classes}, x.options()).requires_grad_(true);
  f.bias = torch::zeros({classes}, x.options()).requires_grad_(true);
  torch::optim::LBFGS opt({f.weight, f.bias}, torch::optim::LBFGSOptions(1.0)
                                                  .max_iter(max_iter)
                                                  .tolerance_grad(tolerance)
                                                  .tolerance_change(1e-9)
                                                  .history_size(20)
                                                  .line_search_fn("strong_wolfe"));
  auto closure = [&] {
    opt.zero_grad();
    auto loss = torch::nn::functional::cross_entropy(torch::addmm(f.bias, xs, f.weight), y) +
                0.5 * l2 * f.weight.pow(2).sum();
    loss.backward();
    return loss;
  };
  opt.step(closure);
  f.weight = f.weight.detach();
  f.bias = f.bias.detach();
  return f;
}

torch::Tensor predict(const Fit& f, const torch::Tensor& x) {
  torch::NoGradGuard no_grad;
  return torch::addmm(f.bias, standardise(f, x), f.weight).argmax(1);
}

double accuracy(const Fit& f, const torch::Tensor& x, const torch::Tensor& y) {
  return predict(f, x).eq(y).to(torch::kDouble).mean().item<double>();
}

}  // namespace probe
