// k-means palette benchmark: the `kmeans` plugin fitting k colours to the pixels of a
// raw file (N x C bytes) with a fixed number of Lloyd iterations, then encoding every
// pixel. Prints the fit time and the encoding rate, and writes the palette (k x C
// float32, [-1, 1] space) so that kmeans_sklearn.py scores both palettes with the same
// code on the same pixels.
//   kmeans_bench PIXELS.u8 CHANNELS K ITERATIONS PALETTE_OUT.f32
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <fmt/format.h>
#include <torch/serialize.h>
#include <workbench/workbench.hpp>

#include "experiment/experiment.hpp"
#include "platform/allocator.hpp"
#include "plugins/plugin_registry.hpp"
#include "run/run_assembly.hpp"
#include "run/run_context.hpp"
#include "run/runner.hpp"

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  wb::keep_freed_memory();
  if (argc != 6) {
    std::cerr << "usage: kmeans_bench PIXELS.u8 CHANNELS K ITERATIONS PALETTE_OUT.f32\n";
    return 2;
  }
  try {
    const std::string file = argv[1], palette_out = argv[5];
    const int64_t channels = std::stoll(argv[2]), k = std::stoll(argv[3]),
                  iterations = std::stoll(argv[4]);
    const auto bytes = static_cast<int64_t>(std::filesystem::file_size(file));
    const int64_t n = bytes / channels;
    auto pixels = torch::empty({n, 1, 1, channels}, torch::kUInt8);  // (N, 1, 1, C)
    std::ifstream(file, std::ios::binary)
        .read(reinterpret_cast<char*>(pixels.data_ptr()), n * channels);
    const int64_t threads = wb::set_threads(0);

    wb::PluginRegistry reg;
    reg.scan({WB_BENCH_PLUGIN_DIR});
    // Exactly `iterations` Lloyd steps: no early stop, every pixel used.
    auto exp = wb::parse_experiment(fmt::format(R"(
[dataset]
plugin = "fashion_mnist"
[quantizer]
plugin = "kmeans"
k = {}
sample = 0
max_iter = {}
tol = 0.0
[model]
plugin = "igpt"
[objective]
plugin = "ar"
)",
                                                k, iterations),
                                    "kmeans_bench", {}, reg);
    const auto dir = std::filesystem::temp_directory_path() / "wb_kmeans_bench";
    std::filesystem::create_directories(dir);
    wb::StoreArtifacts artifacts(dir.string(), nullptr, 0);
    wb::RunAssembly run(exp.runs[0], reg, torch::kCPU, artifacts);
    wb::Quantizer* q = &run.quantizer();

    auto t0 = std::chrono::steady_clock::now();
    q->fit(pixels);
    const double fit_secs = seconds_since(t0);

    // Encoding: best of 3, every pixel of the file.
    double encode_secs = INFINITY;
    for (int rep = 0; rep < 3; ++rep) {
      auto t1 = std::chrono::steady_clock::now();
      auto tokens = q->encode(pixels);
      encode_secs = std::min(encode_secs, seconds_since(t1));
    }

    const std::string palette = (dir / "palette.pt").string();
    q->save(palette);
    torch::serialize::InputArchive ar;
    ar.load_from(palette);
    torch::Tensor c;
    ar.read("centroids", c);
    c = c.contiguous();
    std::ofstream(palette_out, std::ios::binary)
        .write(reinterpret_cast<const char*>(c.data_ptr<float>()), c.numel() * sizeof(float));
    std::cout << fmt::format(
        "workbench kmeans: {} pixels x {} channels, k {}, {} iterations, {} threads: fit "
        "{:.3f} s, encode {:.3g} pixels/s\n",
        n, channels, k, iterations, threads, fit_secs, n / encode_secs);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
