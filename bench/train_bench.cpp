// Training-step benchmark: the workbench's own step (the igpt and ar plugins loaded as
// in a run, wb::Trainer::train_step: forward, AR loss, backward, Adam) on random
// tokens, or the linear probe's feature pass (forward only, every layer's pooled
// feature), timed after warm-up steps. Prints the matmul peak of the precision it runs
// in, measured in this process, then one line that bench/train_vs_pytorch.sh reads:
//   workbench: <ms> ms/step, <tokens/s> tokens/s
// bench/train_vs_pytorch.sh runs it beside the same model in Python PyTorch.
//   train_bench --layers 8 --width 256 --heads 8 --tokens 1024 --vocab 512 --batch 4
//               [--steps 5] [--device cpu|cuda] [--precision auto|bfloat16|float32]
//               [--attention auto|own|libtorch]
//               [--mode train|features] [--profile TRACE.json] [--cuda-graph]
// --profile writes LibTorch's profiler trace of the timed steps (Chrome trace format;
// bench/profile_summary.py sums it by operator).
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>

#include <ATen/DeviceAccelerator.h>
#include <fmt/format.h>
#include <torch/csrc/autograd/profiler_legacy.h>
#include <torch/cuda.h>
#include <CLI/CLI.hpp>
#include <workbench/workbench.hpp>

#include "experiment/experiment.hpp"
#include "platform/allocator.hpp"
#include "plugins/plugin_registry.hpp"
#include "run/feature_cache.hpp"
#include "run/run_assembly.hpp"
#include "run/run_context.hpp"
#include "run/runner.hpp"
#include "training/trainer.hpp"

namespace {

constexpr int kWarmupSteps = 2;  // first steps allocate and touch every buffer
constexpr int kPeakRepeats = 7;  // the matmul peak: best of this many

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// The matmul peak every utilisation here is a fraction of, in the step's precision: a
// 2048^3 product on the CPU (MKL for float32, oneDNN's AVX512-BF16/AMX kernels for
// bfloat16), 8192^3 on a GPU (the size at which an H100 reaches its rate), with a sync
// around each product so the clock sees the kernel, not its launch.
double matmul_peak_gflops(torch::Device device, torch::ScalarType dtype) {
  const bool cuda = device.is_cuda();
  const int64_t n = cuda ? 8192 : 2048;
  auto opts = torch::TensorOptions().dtype(dtype).device(device);
  auto a = torch::randn({n, n}, opts), b = torch::randn({n, n}, opts);
  auto sync = [&] {
    if (cuda) torch::cuda::synchronize();
  };
  for (int i = 0; i < 3; ++i) torch::mm(a, b);
  sync();
  double best = INFINITY;
  for (int i = 0; i < kPeakRepeats; ++i) {
    auto t0 = Clock::now();
    torch::mm(a, b);
    sync();
    best = std::min(best, seconds_since(t0));
  }
  return 2.0 * n * n * n / best / 1e9;
}

// The most resident memory the process has held, in kB (Linux's ru_maxrss).
int64_t peak_resident_kb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

}  // namespace

int main(int argc, char** argv) {
  wb::keep_freed_memory();
  CLI::App app{"the workbench's training step or feature pass on random tokens"};
  int64_t layers = 4, width = 128, heads = 4, tokens = 784, vocab = 16, batch = 8, steps = 5;
  std::string device_name = "cpu", precision = "auto", mode = "train", profile;
  app.add_option("--layers", layers)->check(CLI::PositiveNumber);
  app.add_option("--width", width)->check(CLI::PositiveNumber);
  app.add_option("--heads", heads)->check(CLI::PositiveNumber);
  app.add_option("--tokens", tokens)->check(CLI::PositiveNumber);
  app.add_option("--vocab", vocab)->check(CLI::PositiveNumber);
  app.add_option("--batch", batch)->check(CLI::PositiveNumber);
  app.add_option("--steps", steps, "timed steps; the median is reported")
      ->check(CLI::PositiveNumber);
  app.add_option("--device", device_name)->check(CLI::IsMember({"cpu", "cuda", "auto"}));
  app.add_option("--precision", precision)->check(CLI::IsMember({"auto", "bfloat16", "float32"}));
  app.add_option("--mode", mode)->check(CLI::IsMember({"train", "features"}));
  app.add_option("--profile", profile, "write LibTorch's profiler trace of the timed steps");
  std::string attention = "auto";
  app.add_option("--attention", attention, "model.attention: auto, own or libtorch")
      ->check(CLI::IsMember({"auto", "own", "libtorch"}));
  bool checkpoint = false;
  app.add_flag("--checkpoint", checkpoint,
               "model.checkpoint_activations: recompute each block in the backward pass");
  bool cuda_graph = false;
  app.add_flag("--cuda-graph", cuda_graph,
               "training.cuda_graph: on a GPU, replay the step as one captured CUDA graph");
  CLI11_PARSE(app, argc, argv);
  try {
    const int64_t threads = wb::set_threads(0);
    const torch::Device device = wb::resolve_device(device_name);
    const bool cuda = device.is_cuda();
    const bool bf16 = wb::uses_bfloat16(precision, device);
    const double peak = matmul_peak_gflops(device, bf16 ? torch::kBFloat16 : torch::kFloat32);

    wb::PluginRegistry reg;
    reg.scan({WB_BENCH_PLUGIN_DIR});
    auto exp = wb::parse_experiment(
        fmt::format(R"(
[dataset]
plugin = "fashion_mnist"
[quantizer]
plugin = "kmeans"
[model]
plugin = "igpt"
layers = {}
width = {}
heads = {}
checkpoint_activations = {}
attention = "{}"
[objective]
plugin = "ar"
[training]
batch_size = {}
lr = 1e-3
precision = "{}"
cuda_graph = {}
)",
                    layers, width, heads, checkpoint, attention, batch, precision, cuda_graph),
        "train_bench", {}, reg);
    const auto& rc = exp.runs[0];
    wb::StoreArtifacts artifacts(std::filesystem::temp_directory_path().string(), nullptr, 0);
    // The run's parts as a run makes them, for random tokens of `vocab` colours.
    wb::RunAssembly run(rc, reg, device, artifacts);
    const int64_t side = static_cast<int64_t>(std::sqrt(double(tokens)));
    run.set_facts(wb::DataFacts{vocab, 1, side, tokens, 0});
    wb::Model* model = &run.model();
    wb::Objective* objective = &run.objective();
    // The feature pass's context; without a store, its sink discards (the trainer's too).
    auto probe_host = run.services(rc.at("model"), "");
    wb::HostContext& model_ctx = probe_host->context;
    wb::ResultSink& sink = *probe_host->sink;
    wb::Trainer trainer(rc.at("training"), *model, *objective, sink,
                        {device, 0, std::filesystem::temp_directory_path().string()});
    auto x = torch::randint(vocab, {batch, tokens}, torch::kLong).to(device);  // int64 (B, S)
    auto gen = torch::make_generator<at::CPUGeneratorImpl>(0);
    std::function<void()> step;
    // The evaluators' feature service over no splits: only its uncached pass is timed.
    const std::map<std::string, wb::TokenSplit> no_splits;
    wb::FeatureCache features(*model, *objective, no_splits, "train_bench", device, bf16,
                              artifacts);
    std::unique_ptr<wb::Progress> progress;
    if (mode == "train") {
      step = [&] { trainer.train_step(x, 1e-3); };
    } else {  // the linear probe's feature pass itself, one batch a step
      progress = model_ctx.progress("features", kWarmupSteps + steps);
      step = [&] { features.pass(x, gen, batch, *progress); };
    }
    auto timed = [&] {
      auto t0 = Clock::now();
      step();
      if (cuda) torch::cuda::synchronize();  // the step's kernels, not their launch
      return seconds_since(t0);
    };

    // With a graph, one more: the step that captures it (training runs it eagerly too).
    for (int i = 0; i < kWarmupSteps + (cuda_graph ? 1 : 0); ++i) timed();
    std::vector<double> times;
    {
      std::unique_ptr<torch::autograd::profiler::RecordProfile> recording;
      if (!profile.empty())
        recording = std::make_unique<torch::autograd::profiler::RecordProfile>(profile);
      for (int64_t i = 0; i < steps; ++i) times.push_back(timed());
    }
    // The median step: this machine's speed wanders (other tenants), the median least.
    std::sort(times.begin(), times.end());
    const double step_secs = times[times.size() / 2];
    std::cout << fmt::format(
        "workbench (LibTorch {}) {} on {}, {} layers, width {}, {} heads, {} tokens, vocab {}, "
        "batch {}, {}, {} threads\n",
        TORCH_VERSION, mode, device.str(), layers, width, heads, tokens, vocab, batch,
        bf16 ? "bfloat16 autocast" : "float32", threads);
    std::cout << fmt::format("peak: {:.1f} GFLOP/s ({} matmul, {}^3)\n", peak,
                             bf16 ? "bfloat16" : "float32", cuda ? 8192 : 2048);
    // Peak memory: LibTorch's peak allocation on a GPU; the process's peak resident set on
    // the CPU (the whole program: weights, Adam, activations, the matmul probe).
    const double peak_gb =
        cuda ? double(at::accelerator::getDeviceStats(device.index()).allocated_bytes[0].peak) / 1e9
             : double(peak_resident_kb()) / 1e6;
    std::cout << fmt::format("memory: {:.2f} GB peak ({}{})\n", peak_gb,
                             cuda ? "LibTorch's allocations on the GPU" : "resident set",
                             checkpoint ? ", activations checkpointed" : "");
    // Model FLOP utilisation, PaLM's count (appendix B): per token 6N for the products'
    // forward and backward (N = 12 L d^2 in the blocks plus d V in the head) and 12 L d S
    // for attention's scores and values (the whole square, as PaLM and llm.c count it);
    // a third of that for the forward alone. The count of bench/train_vs_pytorch.py's
    // flops_per_token (605.6 MFLOP a token for iGPT-S either way).
    const double n_params = 12.0 * layers * width * width + double(width) * vocab;
    const double train_flops = 6.0 * n_params + 12.0 * layers * width * tokens;
    const double flops_per_token = mode == "train" ? train_flops : train_flops / 3;
    const double tokens_per_s = double(batch * tokens) / step_secs;
    std::cout << fmt::format("model FLOP utilisation: {:.1f} % of the peak ({:.1f} MFLOP/token)\n",
                             100.0 * flops_per_token * tokens_per_s / (peak * 1e9),
                             flops_per_token / 1e6);
    if (cuda_graph && cuda && mode == "train")
      std::cout << fmt::format("cuda graph: {}\n", trainer.replays_graph()
                                                       ? "the timed steps replayed one graph"
                                                       : "not captured (the warning above)");
    std::cout << fmt::format("workbench: {:.1f} ms/step, {:.0f} tokens/s\n", step_secs * 1e3,
                             tokens_per_s);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
