// Linear-probe benchmark: the probe's logistic regression (plugins/evaluators/common,
// full-batch L-BFGS on standardised features, as linear_probe fits it) on features
// from raw files, timed; prints the fit time and the test accuracy for
// bench/probe_vs_sklearn.sh, which fits scikit-learn's LogisticRegression(lbfgs) to the
// same files with the same objective.
//   probe_bench DIR N_TRAIN N_TEST DIM CLASSES L2 MAX_ITER TOL
// DIR holds x_train.f32 (N_TRAIN x DIM), y_train.i64, x_test.f32, y_test.i64.
#include <chrono>
#include <fstream>
#include <iostream>

#include <fmt/format.h>
#include <torch/torch.h>

#include "logistic_regression.hpp"
#include "platform/allocator.hpp"
#include "run/runner.hpp"

namespace {

torch::Tensor read_raw(const std::string& path, std::vector<int64_t> shape, torch::Dtype dtype) {
  auto t = torch::empty(shape, dtype);
  std::ifstream in(path, std::ios::binary);
  in.read(reinterpret_cast<char*>(t.data_ptr()), t.numel() * t.element_size());
  if (!in) throw std::runtime_error(path + ": missing or shorter than expected");
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  wb::keep_freed_memory();
  if (argc != 9) {
    std::cerr << "usage: probe_bench DIR N_TRAIN N_TEST DIM CLASSES L2 MAX_ITER TOL\n";
    return 2;
  }
  try {
    const std::string dir = argv[1];
    const int64_t n_train = std::stoll(argv[2]), n_test = std::stoll(argv[3]),
                  dim = std::stoll(argv[4]), classes = std::stoll(argv[5]),
                  max_iter = std::stoll(argv[7]);
    const double l2 = std::stod(argv[6]), tol = std::stod(argv[8]);
    const int64_t threads = wb::set_threads(0);
    auto xtr = read_raw(dir + "/x_train.f32", {n_train, dim}, torch::kFloat32);
    auto ytr = read_raw(dir + "/y_train.i64", {n_train}, torch::kLong);
    auto xte = read_raw(dir + "/x_test.f32", {n_test, dim}, torch::kFloat32);
    auto yte = read_raw(dir + "/y_test.i64", {n_test}, torch::kLong);
    probe::fit_logistic(xtr.slice(0, 0, 256), ytr.slice(0, 0, 256), classes, l2, 5,
                        tol);  // warm-up
    auto t0 = std::chrono::steady_clock::now();
    auto fit = probe::fit_logistic(xtr, ytr, classes, l2, max_iter, tol);
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::cout << fmt::format(
        "workbench probe ({} threads, tol {:g}): fit {:.3f} s, test accuracy {:.2f}%\n", threads,
        tol, secs, 100 * probe::accuracy(fit, xte, yte));
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
