// The colour palette of a released ImageGPT (Hugging Face's preprocessor_config.json:
// "clusters", 512 RGB centres in [-1, 1]), so images are tokenised exactly as the
// model was trained: ImageGPTImageProcessor's colour quantisation, pixel / 127.5 - 1
// and the nearest centre by squared distance computed as |a|^2 - 2 a.b + |b|^2 in
// float32, the first on a tie. Pair with the igpt model's hf_weights.
#include <fstream>

#include <torch/serialize.h>
#include <nlohmann/json.hpp>
#include <workbench/workbench.hpp>

namespace {

class HfPalette : public wb::Quantizer {
 public:
  static void declare(wb::Schema& s) {
    s.required("path", wb::Type::String,
               "a folder holding preprocessor_config.json (or the file itself)");
  }

  explicit HfPalette(wb::PluginContext& ctx) {
    std::string path = ctx.config().get_string("path");
    if (path.size() < 5 || path.substr(path.size() - 5) != ".json")
      path += "/preprocessor_config.json";
    std::ifstream in(path);
    if (!in) throw wb::Error(fmt::format("{}: cannot open", path));
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(in);
    } catch (const std::exception& e) {
      throw wb::Error(fmt::format("{}: not JSON: {}", path, e.what()));
    }
    if (!j.contains("clusters") || !j["clusters"].is_array() || j["clusters"].empty())
      throw wb::Error(fmt::format("{}: no \"clusters\" list", path));
    std::vector<float> values;
    for (const auto& c : j["clusters"]) {
      if (!c.is_array() || c.size() != 3)
        throw wb::Error(fmt::format("{}: a cluster is not [r, g, b]: {}", path, c.dump()));
      for (const auto& v : c) values.push_back(v.get<float>());
    }
    const int64_t k = static_cast<int64_t>(values.size() / 3);
    clusters_ = torch::from_blob(values.data(), {k, 3}, torch::kFloat32).clone();  // (K, 3)
    path_ = path;
  }

  // The palette is the released one; nothing to learn.
  void fit(const torch::Tensor&) override {}

  torch::Tensor encode(const torch::Tensor& pixels) const override {  // uint8 (N, H, W, C)
    if (pixels.size(3) != 3)
      throw wb::Error(
          fmt::format("hf_palette: {} holds RGB colours; these images have {} "
                      "channel(s)",
                      path_, pixels.size(3)));
    const int64_t n = pixels.size(0), hw = pixels.size(1) * pixels.size(2);
    auto a = pixels.to(torch::kFloat32).reshape({-1, 3}) / 127.5f - 1.0f;  // (P, 3)
    auto b = clusters_.t();                                                // (3, K)
    auto d = a.pow(2).sum(1, true) - 2 * torch::matmul(a, b) + b.pow(2).sum(0, true);
    return d.argmin(1).reshape({n, hw});  // (N, H*W)
  }

  torch::Tensor decode(const torch::Tensor& tokens, int64_t h, int64_t w) const override {
    auto rgb = ((clusters_.index_select(0, tokens.reshape(-1)) + 1.0f) * 127.5f).round();
    return rgb.clamp(0, 255).to(torch::kUInt8).reshape({tokens.size(0), h, w, 3});
  }

  int64_t vocab_size() const override { return clusters_.size(0); }
  int64_t channels() const override { return 3; }

  void save(const std::string& path) const override {
    torch::serialize::OutputArchive ar;
    ar.write("clusters", clusters_);
    wb::save_archive(ar, path);
  }
  void load(const std::string& path) override {
    torch::serialize::InputArchive ar;
    ar.load_from(path);
    torch::Tensor c;
    ar.read("clusters", c);
    if (!c.sizes().equals(clusters_.sizes()) || !torch::equal(c, clusters_))
      throw wb::Error(fmt::format("{}: palette differs from {}", path, path_));
  }

 private:
  torch::Tensor clusters_;  // float32 (K, 3) in [-1, 1]
  std::string path_;
};

}  // namespace

WB_PLUGIN(Quantizer, "hf_palette", "1.0.0",
          "a released ImageGPT's colour clusters (preprocessor_config.json)", HfPalette)
