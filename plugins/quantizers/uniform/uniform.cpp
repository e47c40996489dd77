// A uniform grid palette: n bits per channel, 2^n evenly spaced levels in each, the
// baseline of the paper's palette ablation (3 bits x 3 channels = 512 colours, the
// size of the k-means palette). Level i of a channel stands for rint(255 i / (2^n - 1));
// a token packs the channels' levels, first channel most significant.
#include <torch/serialize.h>
#include <workbench/workbench.hpp>

namespace {

class Uniform : public wb::Quantizer {
 public:
  static void declare(wb::Schema& s) {
    s.integer("bits", 3, "bits per channel: 2^bits levels each, 2^(bits x channels) tokens")
        .range(1, 8);
  }

  explicit Uniform(wb::PluginContext& ctx) : levels_(int64_t{1} << ctx.config().get_int("bits")) {}

  // The grid is fixed; fitting only learns the channel count.
  void fit(const torch::Tensor& pixels) override { set_channels(pixels.size(3)); }

  torch::Tensor encode(const torch::Tensor& pixels) const override {
    check_fitted();
    if (pixels.size(3) != channels_)
      throw wb::Error(fmt::format("uniform: fitted on {} channels, asked to encode {}", channels_,
                                  pixels.size(3)));
    auto level =
        (pixels.to(torch::kFloat32) * double(levels_ - 1) / 255.0).round().to(torch::kLong);
    auto token = torch::zeros(level.sizes().slice(0, 3), torch::kLong);  // (N, H, W)
    for (int64_t c = 0; c < channels_; ++c) token = token * levels_ + level.select(3, c);
    return token.reshape({pixels.size(0), pixels.size(1) * pixels.size(2)});  // (N, H*W)
  }

  torch::Tensor decode(const torch::Tensor& tokens, int64_t h, int64_t w) const override {
    check_fitted();
    std::vector<torch::Tensor> channels(channels_);
    auto rest = tokens;
    for (int64_t c = channels_ - 1; c >= 0; --c) {
      channels[c] = rest.remainder(levels_);
      rest = rest.div(levels_, "floor");
    }
    auto level = torch::stack(channels, -1).to(torch::kFloat32);  // (N, H*W, C)
    auto v = (level * 255.0 / double(levels_ - 1)).round().to(torch::kUInt8);
    return v.reshape({tokens.size(0), h, w, channels_});
  }

  int64_t vocab_size() const override {
    check_fitted();
    int64_t v = 1;
    for (int64_t c = 0; c < channels_; ++c) v *= levels_;
    return v;
  }
  int64_t channels() const override {
    check_fitted();
    return channels_;
  }

  void save(const std::string& path) const override {
    torch::serialize::OutputArchive ar;
    ar.write("levels", torch::tensor(levels_, torch::kLong));
    ar.write("channels", torch::tensor(channels_, torch::kLong));
    wb::save_archive(ar, path);  // through memory: a full disk is an error, not an abort
  }

  void load(const std::string& path) override {
    torch::serialize::InputArchive ar;
    ar.load_from(path);
    torch::Tensor levels, channels;
    ar.read("levels", levels);
    ar.read("channels", channels);
    if (levels.item<int64_t>() != levels_)
      throw wb::Error(fmt::format("{}: palette has {} levels per channel, the config asks for {}",
                                  path, levels.item<int64_t>(), levels_));
    set_channels(channels.item<int64_t>());
  }

 private:
  void set_channels(int64_t c) {
    if (c < 1 || c > 4) throw wb::Error(fmt::format("uniform: {} channels (1 to 4 supported)", c));
    channels_ = c;
  }
  void check_fitted() const {
    if (channels_ == 0) throw wb::Error("uniform: used before fit() or load()");
  }

  int64_t levels_;
  int64_t channels_ = 0;
};

}  // namespace

WB_PLUGIN(Quantizer, "uniform", "1.1.0", "n bits per channel on a uniform grid", Uniform)
