// n evenly spaced grey levels: the simplest palette, for grey data sets.
// Level i stands for the intensity rint(255 * i / (n - 1)); a pixel maps to the
// nearest level. RGB input is first reduced to its channel mean.
#include <cmath>

#include <torch/serialize.h>
#include <workbench/workbench.hpp>

namespace {

class Grey : public wb::Quantizer {
 public:
  static void declare(wb::Schema& s) {
    s.integer("levels", 16, "number of grey levels (the vocabulary size)").range(2, 256);
  }

  explicit Grey(wb::PluginContext& ctx) : levels_(ctx.config().get_int("levels")) {}

  // The palette is fixed; nothing to learn from the pixels.
  void fit(const torch::Tensor&) override {}

  torch::Tensor encode(const torch::Tensor& pixels) const override {
    auto x = pixels.to(torch::kFloat32);                 // (N, H, W, C)
    if (x.size(3) > 1) x = x.mean(3, /*keepdim=*/true);  // (N, H, W, 1)
    auto t = (x * double(levels_ - 1) / 255.0).round().clamp(0, levels_ - 1);
    return t.to(torch::kLong).reshape({x.size(0), x.size(1) * x.size(2)});  // (N, H*W)
  }

  torch::Tensor decode(const torch::Tensor& tokens, int64_t h, int64_t w) const override {
    auto v = (tokens.to(torch::kFloat32) * 255.0 / double(levels_ - 1)).round();
    return v.to(torch::kUInt8).reshape({tokens.size(0), h, w, 1});
  }

  int64_t vocab_size() const override { return levels_; }
  int64_t channels() const override { return 1; }

  void save(const std::string& path) const override {
    torch::serialize::OutputArchive ar;
    ar.write("levels", torch::tensor(levels_, torch::kLong));
    wb::save_archive(ar, path);  // through memory: a full disk is an error, not an abort
  }
  void load(const std::string& path) override {
    torch::serialize::InputArchive ar;
    ar.load_from(path);
    torch::Tensor t;
    ar.read("levels", t);
    if (t.item<int64_t>() != levels_)
      throw wb::Error(fmt::format("{}: palette has {} grey levels, the config asks for {}", path,
                                  t.item<int64_t>(), levels_));
  }

 private:
  int64_t levels_;
};

}  // namespace

WB_PLUGIN(Quantizer, "grey", "1.1.0", "n evenly spaced grey levels", Grey)
