// The paper's palette (§1): k-means on pixels scaled to [-1, 1] (x / 127.5 - 1),
// k-means++ initialisation on a seeded sample of training pixels, Lloyd iterations
// until the inertia stops falling or a limit, nearest-centroid encoding (squared
// Euclidean), decoding rint(127.5 (c + 1)).
#include <cmath>

#include <torch/serialize.h>
#include <workbench/workbench.hpp>

namespace {

// Rows per distance block: a (rows, k) float matrix stays near 32 MB at k = 512.
constexpr int64_t kBlock = 16384;

// Squared distances x (M, C) to c (K, C) -> argmin (M) and min (M), block by block.
std::pair<torch::Tensor, torch::Tensor> nearest(const torch::Tensor& x, const torch::Tensor& c) {
  auto c2 = c.pow(2).sum(1);  // (K)
  std::vector<torch::Tensor> idx, dist;
  for (int64_t i = 0; i < x.size(0); i += kBlock) {
    auto xb = x.slice(0, i, std::min(x.size(0), i + kBlock));
    // |x|^2 is the same for every centroid: leave it out of the (B, K) matrix and add it
    // to the B minima only, one pass over the big matrix fewer.
    auto d = torch::addmm(c2.unsqueeze(0), xb, c.t(), 1.0, -2.0);  // (B, K): |c|^2 - 2 x.c
    auto [m, a] = d.min(1);
    idx.push_back(a);
    dist.push_back((m + xb.pow(2).sum(1)).clamp_min(0));
  }
  return {torch::cat(idx), torch::cat(dist)};
}

class KMeans : public wb::Quantizer {
 public:
  static void declare(wb::Schema& s) {
    s.integer("k", 512, "palette size (the paper: 512 for RGB)").range(2, 65536);
    s.integer("sample", 1000000, "training pixels sampled (seeded) for fitting; 0 = all")
        .at_least(0);
    s.integer("max_iter", 100, "Lloyd iterations at most").at_least(1);
    s.number("tol", 1e-4, "stop when the inertia falls by less than this fraction").at_least(0);
  }

  explicit KMeans(wb::PluginContext& ctx) : ctx_(ctx) {}

  void fit(const torch::Tensor& pixels) override {
    const auto& cfg = ctx_.config();
    const int64_t k = cfg.get_int("k");
    auto gen = ctx_.generator("fit");
    auto x = scale(pixels);  // (M, C)
    const int64_t sample = cfg.get_int("sample");
    if (sample > 0 && x.size(0) > sample)
      x = x.index_select(0, torch::randperm(x.size(0), gen, torch::kLong).slice(0, 0, sample));
    centroids_ = init_plus_plus(x, k, gen);
    double last = INFINITY;
    auto progress = ctx_.progress("k-means", cfg.get_int("max_iter"));
    for (int64_t it = 0; it < cfg.get_int("max_iter"); ++it) {
      auto [assign, dist] = nearest(x, centroids_);
      double inertia = dist.sum().item<double>();
      // Lloyd step: each centroid moves to the mean of its points; an empty cluster
      // keeps its place.
      auto sums = torch::zeros_like(centroids_).index_add_(0, assign, x);
      auto counts = torch::bincount(assign, {}, k).to(torch::kFloat32);
      auto filled = counts > 0;
      centroids_ =
          torch::where(filled.unsqueeze(1), sums / counts.clamp_min(1).unsqueeze(1), centroids_);
      progress->advance(1, fmt::format("inertia {:.4g}", inertia));
      if (std::isfinite(last) && last - inertia <= cfg.get_float("tol") * last) break;
      last = inertia;
    }
    progress->finish();
  }

  torch::Tensor encode(const torch::Tensor& pixels) const override {
    check_fitted();
    if (pixels.size(3) != centroids_.size(1))
      throw wb::Error(fmt::format("kmeans: palette has {} channels, the pixels {}",
                                  centroids_.size(1), pixels.size(3)));
    return nearest(scale(pixels), centroids_).first.view({pixels.size(0), -1});  // (N, H*W)
  }

  torch::Tensor decode(const torch::Tensor& tokens, int64_t h, int64_t w) const override {
    check_fitted();
    auto colours = (127.5 * (centroids_ + 1)).round().clamp(0, 255).to(torch::kUInt8);  // (K, C)
    return colours.index_select(0, tokens.reshape({-1})).view({tokens.size(0), h, w, -1});
  }

  int64_t vocab_size() const override { return ctx_.config().get_int("k"); }

  void save(const std::string& path) const override {
    check_fitted();
    torch::serialize::OutputArchive ar;
    ar.write("centroids", centroids_);
    ar.save_to(path);
  }

  void load(const std::string& path) override {
    torch::serialize::InputArchive ar;
    ar.load_from(path);
    torch::Tensor c;
    ar.read("centroids", c);
    if (c.size(0) != vocab_size())
      throw wb::Error(fmt::format("{}: palette has {} colours, the config asks for k = {}", path,
                                  c.size(0), vocab_size()));
    centroids_ = c;
  }

 private:
  // uint8 (N, H, W, C) -> float (N*H*W, C) in [-1, 1]
  static torch::Tensor scale(const torch::Tensor& pixels) {
    return pixels.reshape({-1, pixels.size(3)}).to(torch::kFloat32) / 127.5 - 1.0;
  }

  // k-means++: each next centroid drawn with probability proportional to the squared
  // distance to the nearest centroid chosen so far.
  static torch::Tensor init_plus_plus(const torch::Tensor& x, int64_t k, torch::Generator& gen) {
    auto c = torch::empty({k, x.size(1)}, x.options());
    auto x2 = x.pow(2).sum(1);  // (M)
    // Squared distances to centroid i as |x|^2 - 2 x.c_i + |c_i|^2: one matrix-vector
    // product instead of a (M, C) difference, square and sum.
    auto dist_to = [&](int64_t i) {
      return torch::addmv(x2, x, c[i], 1.0, -2.0).add_(c[i].pow(2).sum()).clamp_min_(0);
    };
    c[0] = x[torch::randint(x.size(0), {1}, gen, torch::kLong).item<int64_t>()];
    auto d2 = dist_to(0);  // (M)
    for (int64_t i = 1; i < k; ++i) {
      if (d2.max().item<double>() <= 1e-12)
        throw wb::Error(
            fmt::format("kmeans: the sample has only {} distinct colours, fewer than "
                        "k = {}; lower quantizer.k",
                        i, k));
      c[i] = x[torch::multinomial(d2, 1, false, gen).item<int64_t>()];
      torch::minimum_out(d2, d2, dist_to(i));
    }
    return c;
  }

  void check_fitted() const {
    if (!centroids_.defined()) throw wb::Error("kmeans: used before fit() or load()");
  }

  wb::PluginContext& ctx_;
  torch::Tensor centroids_;  // float (K, C) in [-1, 1]
};

}  // namespace

WB_PLUGIN(Quantizer, "kmeans", "1.0.0", "k-means palette (k-means++, Lloyd) in [-1, 1] space",
          KMeans)
