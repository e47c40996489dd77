// Training-step benchmark: the workbench's own step (the igpt and ar plugins loaded as
// in a run, wb::Trainer::train_step: forward, AR loss, backward, Adam) on random
// tokens, timed after warm-up steps. Prints tokens/s, model GFLOP/s, their fraction of
// this machine's float32 matmul peak (measured in the same run) and where the time
// goes. bench/train_vs_pytorch.sh runs it beside the Python reference.
// With DEVICE = cuda the step runs on the GPU under bfloat16 autocast (as a run does
// there) and the peak is the GPU's measured bf16 matmul rate: the fraction printed is
// the model FLOP utilisation (tools/gpu/check.sh). PRECISION is training.precision
// (auto, bfloat16, float32); bfloat16 on the CPU is measured against the CPU's bf16
// matmul peak (bench/precision_cpu.sh compares it with float32).
//   train_bench LAYERS WIDTH HEADS TOKENS VOCAB BATCH STEPS [DEVICE [PRECISION]]
#include <sys/resource.h>

#include <ATen/Parallel.h>
#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>

#include <fmt/format.h>
#include <torch/cuda.h>
#include <torch/optim/adam.h>
#include <workbench/workbench.hpp>

#include "allocator.hpp"
#include "attention.hpp"  // plugins/models/igpt, for the breakdown only
#include "blas_kernel.hpp"
#include "experiment.hpp"
#include "igpt_module.hpp"
#include "linear.hpp"
#include "plugin_registry.hpp"
#include "run_context.hpp"
#include "runner.hpp"
#include "trainer.hpp"

namespace {

constexpr int kWarmupSteps = 2;  // first steps allocate and touch every buffer
constexpr int kRepeats = 3;      // component timings: best of this many
constexpr int kPeakRepeats = 7;  // the matmul peak: best of this many

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

template <class F>
double best_of(int repeats, F&& f) {
  double best = INFINITY;
  for (int i = 0; i < repeats; ++i) {
    auto t0 = Clock::now();
    f();
    best = std::min(best, seconds_since(t0));
  }
  return best;
}

long minor_faults() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_minflt;
}

struct NullSink : wb::ResultSink {
  void metric(int64_t, const std::string&, double) override {}
  void result(const std::string&, int64_t, const std::string&, double) override {}
};

// The machine's float32 matmul peak: a 2048^3 product with the BLAS on every core
// (the workbench runs it single-threaded between LibTorch's own threads; the peak is
// what the hardware gives, not what a setting allows).
double matmul_peak_gflops() {
  using SetThreads = void (*)(int);
  using GetThreads = int (*)();
  auto set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  auto get = reinterpret_cast<GetThreads>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  const int before = get ? get() : 0;
  if (set) set(at::get_num_threads());
  const int64_t n = 2048;
  auto a = torch::randn({n, n}), b = torch::randn({n, n});
  torch::mm(a, b);
  double secs = best_of(kPeakRepeats, [&] { torch::mm(a, b); });
  if (set && before) set(before);
  return 2.0 * n * n * n / secs / 1e9;
}

// The bfloat16 matmul peak every model FLOP utilisation here is a fraction of: on the
// CPU a 2048^3 product in LibTorch's bf16 kernel (oneDNN, AMX or AVX512-BF16 where the
// CPU has them); on a GPU 8192^3, the size at which an H100 reaches its rate, with a
// sync around each product so the clock sees the kernel, not its launch.
double bf16_peak_gflops(torch::Device device) {
  const bool cuda = device.is_cuda();
  const int64_t n = cuda ? 8192 : 2048;
  auto opts = torch::TensorOptions().dtype(torch::kBFloat16).device(device);
  auto a = torch::randn({n, n}, opts), b = torch::randn({n, n}, opts);
  auto sync = [&] {
    if (cuda) torch::cuda::synchronize();
  };
  for (int i = 0; i < 3; ++i) torch::mm(a, b);
  sync();
  double secs = best_of(kPeakRepeats, [&] {
    torch::mm(a, b);
    sync();
  });
  return 2.0 * n * n * n / secs / 1e9;
}

}  // namespace

int main(int argc, char** argv) {
  wb::use_best_openblas_kernel(argv);
  wb::keep_freed_memory();
  if (argc < 8 || argc > 10) {
    std::cerr << "usage: train_bench LAYERS WIDTH HEADS TOKENS VOCAB BATCH STEPS [cpu|cuda "
                 "[auto|bfloat16|float32]]\n";
    return 2;
  }
  try {
    const int64_t layers = std::stoll(argv[1]), width = std::stoll(argv[2]),
                  heads = std::stoll(argv[3]), tokens = std::stoll(argv[4]),
                  vocab = std::stoll(argv[5]), batch = std::stoll(argv[6]),
                  steps = std::stoll(argv[7]);
    const int64_t threads = wb::set_threads(0);
    const torch::Device device = wb::resolve_device(argc >= 9 ? argv[8] : "cpu");
    const std::string precision = argc == 10 ? argv[9] : "auto";
    const bool cuda = device.is_cuda();
    const bool bf16 = wb::uses_bfloat16(precision, device);
    const double peak = (cuda || bf16) ? bf16_peak_gflops(device) : matmul_peak_gflops();

    wb::PluginRegistry reg;
    reg.scan({WB_BENCH_PLUGIN_DIR});
    auto exp = wb::parse_experiment(fmt::format(R"(
[dataset]
plugin = "fashion_mnist"
[quantizer]
plugin = "kmeans"
[model]
plugin = "igpt"
layers = {}
width = {}
heads = {}
[objective]
plugin = "ar"
[training]
batch_size = {}
lr = 1e-3
precision = "{}"
)",
                                                layers, width, heads, batch, precision),
                                    "train_bench", {}, reg);
    const auto& rc = exp.runs[0];
    NullSink sink;
    wb::StoreArtifacts artifacts(std::filesystem::temp_directory_path().string(), nullptr, 0);
    wb::HostContext model_ctx(rc.at("model"), 0, device, &artifacts, &sink);
    wb::HostContext objective_ctx(rc.at("objective"), 0, device, &artifacts, &sink);
    auto model = reg.create<wb::Model>("igpt", model_ctx);
    auto objective = reg.create<wb::Objective>("ar", objective_ctx);
    model->build(wb::ModelSpec{vocab, tokens});
    model->module().to(device);
    wb::Trainer trainer(rc.at("training"), *model, *objective, device, 0,
                        std::filesystem::temp_directory_path().string(), sink);
    auto x = torch::randint(vocab, {batch, tokens}, torch::kLong).to(device);  // int64 (B, S)
    auto step = [&] {
      trainer.train_step(x, 1e-3);
      if (cuda) torch::cuda::synchronize();  // the optimizer's kernels belong to the step
    };

    for (int i = 0; i < kWarmupSteps; ++i) step();
    const long faults0 = minor_faults();
    std::vector<double> times;
    for (int64_t i = 0; i < steps; ++i) {
      auto t0 = Clock::now();
      step();
      times.push_back(seconds_since(t0));
    }
    // The median step: this machine's speed wanders (other tenants), the median least.
    std::sort(times.begin(), times.end());
    const double step_secs = times[times.size() / 2];
    const double faults = double(minor_faults() - faults0) / double(steps);

    // Model FLOPs of one step: forward = per token, per layer 24 d^2 (q, k, v, proj
    // and the 4d MLP) + 4 d c (q k^T and att v over the c positions it sees: (S+1)/2
    // on average under the causal mask), plus 2 d V for the head; the backward pass
    // costs twice the forward.
    const double avg_ctx = double(tokens + 1) / 2.0;
    const double fwd_per_token =
        double(layers) * (24.0 * width * width + 4.0 * width * avg_ctx) + 2.0 * width * vocab;
    const double step_flops = 3.0 * fwd_per_token * double(batch * tokens);
    const double gflops = step_flops / step_secs / 1e9;
    auto ms = [](double s) { return s * 1e3; };
    if (bf16) {  // the breakdown below times float32 parts: not this step's
      std::cout << fmt::format(
          "workbench (LibTorch {}) on {}, {} layers, width {}, {} heads, {} tokens, vocab {}, "
          "batch {}, bfloat16 autocast, {} threads\n",
          TORCH_VERSION, device.str(), layers, width, heads, tokens, vocab, batch, threads);
      std::cout << fmt::format("  bf16 matmul peak ({}^3): {:.1f} GFLOP/s\n", cuda ? 8192 : 2048,
                               peak);
      std::cout << fmt::format(
          "workbench: {:.1f} ms/step, {:.0f} tokens/s, {:.1f} GFLOP/s, {:.1f}% of matmul peak\n",
          ms(step_secs), double(batch * tokens) / step_secs, gflops, 100.0 * gflops / peak);
      return 0;
    }

    // Where the time goes: each part timed alone, forward and backward, on the shapes of
    // the step, times the number of layers.
    igpt::Dims dims{layers, width, heads, vocab, tokens};
    igpt::Block block(dims);
    const int64_t dh = width / heads;
    auto opts = torch::TensorOptions().requires_grad(true);
    auto q = torch::randn({batch, heads, tokens, dh}, opts),
         k = torch::randn({batch, heads, tokens, dh}, opts),
         v = torch::randn({batch, heads, tokens, dh}, opts);
    auto h = torch::randn({batch, tokens, width}, opts);
    auto time_backward = [&](const std::function<torch::Tensor()>& f) {
      return best_of(kRepeats, [&] { f().sum().backward(); });
    };
    const double attention_secs =
        layers * time_backward([&] { return igpt::attention(q, k, v, true); });
    const double mlp_secs = layers * time_backward([&] { return block->mlp(h); });
    const double qkv_proj_secs =
        layers * time_backward([&] {
          return block->qkv(block->ln_1(h)).sum() + igpt::linear(h, block->proj->weight).sum();
        });
    auto params = model->module().parameters();
    for (auto& p : params) p.mutable_grad() = torch::randn_like(p);
    torch::optim::Adam adam(params, torch::optim::AdamOptions(1e-3).betas({0.9, 0.95}));
    adam.step();
    const double adam_secs = best_of(kRepeats, [&] { adam.step(); });

    auto pct = [&](double s) { return 100.0 * s / step_secs; };
    std::cout << fmt::format(
        "workbench (LibTorch {}), {} layers, width {}, {} heads, {} tokens, vocab {}, batch {}, "
        "{} threads\n",
        TORCH_VERSION, layers, width, heads, tokens, vocab, batch, threads);
    std::cout << fmt::format("  matmul peak (2048^3 sgemm, {} threads): {:.1f} GFLOP/s\n", threads,
                             peak);
    std::cout << fmt::format(
        "  breakdown: attention core {:.0f} ms ({:.0f}%), MLP {:.0f} ms "
        "({:.0f}%), q/k/v/proj + norm {:.0f} ms ({:.0f}%), Adam {:.0f} ms "
        "({:.0f}%), rest {:.0f} ms ({:.0f}%); {:.0f} page faults/step\n",
        ms(attention_secs), pct(attention_secs), ms(mlp_secs), pct(mlp_secs), ms(qkv_proj_secs),
        pct(qkv_proj_secs), ms(adam_secs), pct(adam_secs),
        ms(step_secs - attention_secs - mlp_secs - qkv_proj_secs - adam_secs),
        pct(step_secs - attention_secs - mlp_secs - qkv_proj_secs - adam_secs), faults);
    // The last line is the one bench/train_vs_pytorch.sh reads.
    std::cout << fmt::format(
        "workbench: {:.1f} ms/step, {:.0f} tokens/s, {:.1f} GFLOP/s, {:.1f}% of matmul peak\n",
        ms(step_secs), double(batch * tokens) / step_secs, gflops, 100.0 * gflops / peak);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
