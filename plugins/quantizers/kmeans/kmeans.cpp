// The paper's palette (§1): k-means on pixels scaled to [-1, 1] (x / 127.5 - 1),
// greedy k-means++ initialisation on a seeded sample of training pixels, Lloyd
// iterations until the inertia stops falling or a limit, nearest-centroid encoding
// (squared Euclidean), decoding rint(127.5 (c + 1)). The work runs on the sample's
// distinct colours weighted by their counts (colour_set.hpp), in kmeans_fit.cpp.
#include <cmath>

#include <torch/serialize.h>
#include <workbench/workbench.hpp>

#include "colour_set.hpp"
#include "kmeans_fit.hpp"

namespace {

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
    auto flat = pixels.contiguous().view({-1, pixels.size(3)});  // uint8 (M, C)
    const int64_t sample = cfg.get_int("sample");
    if (sample > 0 && flat.size(0) > sample) {
      auto gen = ctx_.generator("sample");
      auto pick = torch::randperm(flat.size(0), gen, torch::kLong).slice(0, 0, sample);
      flat = flat.index_select(0, std::get<0>(pick.sort()));
    }
    const auto colours =
        kmeans::distinct_colours(flat.data_ptr<uint8_t>(), flat.size(0), flat.size(1));
    ctx_.info("k-means: {} pixels, {} distinct colours, k = {}", flat.size(0), colours.size(),
              cfg.get_int("k"));
    kmeans::FitOptions opt;
    opt.k = cfg.get_int("k");
    opt.max_iter = cfg.get_int("max_iter");
    opt.tol = cfg.get_float("tol");
    opt.seed = ctx_.seed("fit");
    auto progress = ctx_.progress("k-means", opt.max_iter);
    kmeans::FitResult r;
    try {
      r = kmeans::fit(colours, opt, [&](int64_t, double inertia) {
        progress->advance(1, fmt::format("inertia {:.4g}", inertia));
      });
    } catch (const std::invalid_argument& e) {
      throw wb::Error(fmt::format("kmeans: {}; lower quantizer.k", e.what()));
    }
    progress->finish(fmt::format("inertia {:.6g} after {} iterations", r.inertia, r.iterations));
    centroids_ =
        torch::from_blob(r.centroids.data(), {opt.k, colours.dims}, torch::kFloat32).clone();
  }

  torch::Tensor encode(const torch::Tensor& pixels) const override {
    check_fitted();
    if (pixels.size(3) != centroids_.size(1))
      throw wb::Error(fmt::format("kmeans: palette has {} channels, the pixels {}",
                                  centroids_.size(1), pixels.size(3)));
    auto px = pixels.contiguous();
    auto tokens = torch::empty({pixels.size(0), pixels.size(1) * pixels.size(2)}, torch::kLong);
    kmeans::encode_pixels(px.data_ptr<uint8_t>(), px.numel() / px.size(3), px.size(3),
                          centroids_.data_ptr<float>(), centroids_.size(0),
                          tokens.data_ptr<int64_t>());
    return tokens;  // (N, H*W)
  }

  torch::Tensor decode(const torch::Tensor& tokens, int64_t h, int64_t w) const override {
    check_fitted();
    auto colours = (127.5 * (centroids_ + 1)).round().clamp(0, 255).to(torch::kUInt8);  // (K, C)
    return colours.index_select(0, tokens.reshape({-1}))
        .view({tokens.size(0), h, w, centroids_.size(1)});
  }

  int64_t vocab_size() const override { return ctx_.config().get_int("k"); }
  int64_t channels() const override {
    if (!centroids_.defined()) throw wb::Error("kmeans: used before fit() or load()");
    return centroids_.size(1);
  }

  void save(const std::string& path) const override {
    check_fitted();
    torch::serialize::OutputArchive ar;
    ar.write("centroids", centroids_);
    wb::save_archive(ar, path);  // through memory: a full disk is an error, not an abort
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
  void check_fitted() const {
    if (!centroids_.defined()) throw wb::Error("kmeans: used before fit() or load()");
  }

  wb::PluginContext& ctx_;
  torch::Tensor centroids_;  // float (K, C) in [-1, 1]
};

}  // namespace

WB_PLUGIN(Quantizer, "kmeans", "1.2.0",
          "k-means palette (greedy k-means++, Lloyd) in [-1, 1] space, on distinct colours", KMeans)
