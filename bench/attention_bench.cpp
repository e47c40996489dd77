// Attention forward + backward: the igpt model's own kernel (flash_attention.cpp)
// against LibTorch's at::scaled_dot_product_attention, at the shapes of issue 29
// (batch, heads, tokens, head width), causal, in float32 and in bfloat16. The two sides
// alternate within each round (ours, LibTorch's, ours, ...), each timing the median of
// its repeats, and the ratio is reported per shape: timings wander by up to 15 % from
// run to run, a ratio taken in one run does not.
//   build/bin/attention_bench [--rounds 5] [--repeats 5] [--threads 0] [--forward-only]
//                             [--shape N,H,S,dh] [--dtype float32|bfloat16]
// --shape and --dtype narrow the run to one case (for a profiler: perf record ...).
#include <ATen/Parallel.h>
#include <ATen/ops/scaled_dot_product_attention.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <torch/torch.h>
#include <CLI/CLI.hpp>

#include "flash_attention.hpp"

namespace {

struct Shape {
  int64_t batch, heads, tokens, width;
};
const std::vector<Shape> kShapes = {{4, 8, 1024, 32}, {32, 4, 196, 16}, {2, 8, 1024, 64}};

std::string cpu_features() {
  std::string out;
  auto add = [&](bool has, const char* name) {
    if (has) out += (out.empty() ? "" : " ") + std::string(name);
  };
  add(__builtin_cpu_supports("avx2"), "avx2");
  add(__builtin_cpu_supports("avx512f"), "avx512f");
  add(__builtin_cpu_supports("avx512bf16"), "avx512bf16");
  add(__builtin_cpu_supports("amx-bf16"), "amx-bf16");
  return out.empty() ? "none of avx2, avx512f, avx512bf16, amx-bf16" : out;
}

// Seconds of one forward + backward, the median of `repeats`.
bool g_forward_only = false;  // --forward-only: the forward pass alone

double time_step(bool own, const Shape& s, torch::ScalarType dtype, int repeats) {
  auto make = [&] {
    return torch::randn({s.batch, s.heads, s.tokens, s.width}).to(dtype).requires_grad_(true);
  };
  auto q = make(), k = make(), v = make();
  auto w = torch::randn({s.batch, s.heads, s.tokens, s.width}).to(dtype);
  std::vector<double> secs;
  for (int i = 0; i < repeats + 1; ++i) {  // the first is a warm-up
    const auto t0 = std::chrono::steady_clock::now();
    auto y = own ? igpt::flash_attention(q, k, v, true)
                 : at::scaled_dot_product_attention(q, k, v, {}, 0.0, true);
    if (!g_forward_only) (y * w).sum().backward();
    const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (i > 0) secs.push_back(t);
    q.mutable_grad().reset();
    k.mutable_grad().reset();
    v.mutable_grad().reset();
  }
  std::sort(secs.begin(), secs.end());
  return secs[secs.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("attention forward + backward: ours against LibTorch's");
  int rounds = 5, repeats = 5, threads = 0;
  app.add_option("--rounds", rounds, "alternating rounds (the ratio is their median)");
  app.add_option("--repeats", repeats, "steps per side and round (their median is timed)");
  app.add_option("--threads", threads, "intra-op threads (0: LibTorch's default)");
  app.add_flag("--forward-only", g_forward_only, "time the forward pass alone");
  std::vector<int64_t> only_shape;
  std::string only_dtype;
  app.add_option("--shape", only_shape, "one shape instead of issue 29's three: N,H,S,dh")
      ->delimiter(',')
      ->expected(4);
  app.add_option("--dtype", only_dtype, "one dtype instead of both")
      ->check(CLI::IsMember({"float32", "bfloat16"}));
  CLI11_PARSE(app, argc, argv);
  std::vector<Shape> shapes = kShapes;
  if (!only_shape.empty()) shapes = {{only_shape[0], only_shape[1], only_shape[2], only_shape[3]}};
  if (threads > 0) at::set_num_threads(threads);
  torch::manual_seed(0);
  std::printf("CPU features: %s; %d threads; causal; %s; %d rounds of %d steps a side\n",
              cpu_features().c_str(), at::get_num_threads(),
              g_forward_only ? "forward only" : "forward + backward", rounds, repeats);
  std::printf("%-22s %-9s %12s %12s %8s\n", "shape (N,H,S,dh)", "dtype", "ours ms", "LibTorch ms",
              "ratio");
  if (!igpt::flash_attention_cpu_problem().empty()) {
    std::printf("the own attention does not run here: %s\n",
                igpt::flash_attention_cpu_problem().c_str());
    return 0;
  }
  for (const auto dtype : {torch::kFloat, torch::kBFloat16}) {
    if (!only_dtype.empty() && only_dtype != (dtype == torch::kFloat ? "float32" : "bfloat16"))
      continue;
    if (dtype == torch::kBFloat16 && !__builtin_cpu_supports("avx512bf16")) {
      std::printf("bfloat16: skipped (no avx512bf16)\n");
      continue;
    }
    std::printf("%s inputs: our products in %s\n", dtype == torch::kFloat ? "float32" : "bfloat16",
                igpt::flash_attention_products(dtype).c_str());
    for (const auto& s : shapes) {
      std::vector<double> ours, theirs, ratio;
      for (int r = 0; r < rounds; ++r) {
        ours.push_back(time_step(true, s, dtype, repeats));
        theirs.push_back(time_step(false, s, dtype, repeats));
        ratio.push_back(theirs.back() / ours.back());
      }
      auto median = [](std::vector<double> x) {
        std::sort(x.begin(), x.end());
        return x[x.size() / 2];
      };
      std::printf("%-22s %-9s %12.2f %12.2f %7.2fx\n",
                  fmt::format("({},{},{},{})", s.batch, s.heads, s.tokens, s.width).c_str(),
                  dtype == torch::kFloat ? "float32" : "bfloat16", 1e3 * median(ours),
                  1e3 * median(theirs), median(ratio));
    }
  }
  return 0;
}
