// k-means palette benchmark: the `kmeans` plugin fitting k colours to the RGB pixels
// of a raw file (N x 3 bytes) with a fixed number of Lloyd iterations. Prints the fit
// time and the inertia (sum of squared distances in [-1, 1] space), the figures that
// tools/bench/kmeans_vs_sklearn.sh compares with scikit-learn on the same file.
//   kmeans_bench PIXELS.u8 K ITERATIONS
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <fmt/format.h>
#include <torch/serialize.h>
#include <workbench/workbench.hpp>

#include "blas_kernel.hpp"
#include "experiment.hpp"
#include "plugin_registry.hpp"
#include "run_context.hpp"
#include "runner.hpp"

int main(int argc, char** argv) {
  wb::use_best_openblas_kernel(argv);
  if (argc != 4) {
    std::cerr << "usage: kmeans_bench PIXELS.u8 K ITERATIONS\n";
    return 2;
  }
  try {
    const std::string file = argv[1];
    const int64_t k = std::stoll(argv[2]), iterations = std::stoll(argv[3]);
    const auto bytes = static_cast<int64_t>(std::filesystem::file_size(file));
    auto pixels = torch::empty({bytes / 3, 1, 1, 3}, torch::kUInt8);  // (N, 1, 1, 3)
    std::ifstream(file, std::ios::binary)
        .read(reinterpret_cast<char*>(pixels.data_ptr()), bytes / 3 * 3);
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
    wb::HostContext ctx(exp.runs[0].at("quantizer"), 0, torch::kCPU, &artifacts, nullptr);
    auto q = reg.create<wb::Quantizer>("kmeans", ctx);

    auto t0 = std::chrono::steady_clock::now();
    q->fit(pixels);
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    const std::string palette = (dir / "palette.pt").string();
    q->save(palette);
    torch::serialize::InputArchive ar;
    ar.load_from(palette);
    torch::Tensor c;
    ar.read("centroids", c);
    auto x = pixels.view({-1, 3}).to(torch::kFloat32) / 127.5 - 1.0;
    auto tokens = q->encode(pixels).view({-1});
    const double inertia = (x - c.index_select(0, tokens)).pow(2).sum().item<double>();
    std::cout << fmt::format(
        "workbench kmeans: {} pixels, k {}, {} iterations, {} threads: {:.3f} s, "
        "inertia {:.2f}\n",
        x.size(0), k, iterations, threads, secs, inertia);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
