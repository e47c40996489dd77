// The iGPT model family with the paper's sizes and small ones that train on a CPU.
#include <map>

#include <workbench/workbench.hpp>

#include "checkpoint.hpp"
#include "hf_import.hpp"
#include "igpt_module.hpp"
#include "linear.hpp"
#include "rms_norm.hpp"

namespace {

struct Size {
  int64_t layers, width, heads;
};
// Paper (§2): S 24x512, M 36x1024, L 48x1536 (16 heads), XL 60x3072 (heads not
// published: 24 assumed, 128 per head). tiny/mini/xs are for CPU runs and tests.
const std::map<std::string, Size> kSizes = {
    {"tiny", {2, 32, 2}}, {"mini", {4, 64, 4}},  {"xs", {8, 128, 4}},    {"s", {24, 512, 8}},
    {"m", {36, 1024, 8}}, {"l", {48, 1536, 16}}, {"xl", {60, 3072, 24}},
};

class Igpt : public wb::Model {
 public:
  static void declare(wb::Schema& s) {
    s.string("size", "mini", "named size; layers/width/heads override it")
        .one_of({"tiny", "mini", "xs", "s", "m", "l", "xl"});
    s.integer("layers", 0, "transformer blocks (0 = from size)").at_least(0);
    s.integer("width", 0, "model width d (0 = from size)").at_least(0);
    s.integer("heads", 0, "attention heads, must divide width (0 = from size)").at_least(0);
    s.boolean("checkpoint_activations", false,
              "keep only each block's inputs in the forward pass and recompute the block in "
              "the backward: a second forward of every block for the activations of one "
              "block instead of all (training and fine-tuning of the large sizes)");
    s.string("attention", "auto",
             "attention kernel: own (the model's, flash_attention.cpp, for head widths 16, "
             "32, 64 and 128 on a CPU with AVX2 or AVX-512), libtorch "
             "(at::scaled_dot_product_attention), or "
             "auto: on a CPU own where it measured faster (float32 with AVX-512, bfloat16 "
             "with AMX, bfloat16 training up to 512 tokens without), libtorch otherwise; "
             "on a GPU LibTorch's with cuDNN's kernel asked for first")
        .one_of({"auto", "own", "libtorch"});
    s.string("hf_weights", "",
             "a Hugging Face ImageGPT folder (config.json, model.safetensors or "
             "pytorch_model.bin): its size and weights replace size and the initial weights "
             "(pair with the hf_palette quantizer and training.steps = 0)");
  }

  explicit Igpt(wb::PluginContext& ctx) : ctx_(ctx) {
    const auto& c = ctx.config();
    Size s = kSizes.at(c.get_string("size"));
    if (c.get_int("layers")) s.layers = c.get_int("layers");
    if (c.get_int("width")) s.width = c.get_int("width");
    if (c.get_int("heads")) s.heads = c.get_int("heads");
    hf_weights_ = c.get_string("hf_weights");
    checkpoint_ = c.get_bool("checkpoint_activations");
    const std::string attention = c.get_string("attention");
    attention_ = attention == "own"        ? igpt::Attention::Own
                 : attention == "libtorch" ? igpt::Attention::LibTorch
                                           : igpt::Attention::Auto;
    if (!hf_weights_.empty()) {  // the folder's size; keys set explicitly must agree
      hf_ = igpt::read_hf_config(hf_weights_);
      for (const auto& [key, theirs] : {std::pair<const char*, int64_t>{"layers", hf_.layers},
                                        {"width", hf_.width},
                                        {"heads", hf_.heads}})
        if (c.get_int(key) && c.get_int(key) != theirs)
          throw wb::Error(fmt::format("[model] {} = {} but {} has {}", key, c.get_int(key),
                                      hf_weights_, theirs));
      s = Size{hf_.layers, hf_.width, hf_.heads};
    }
    if (s.width % s.heads != 0)
      throw wb::Error(
          fmt::format("[model] width {} is not divisible by heads {}", s.width, s.heads));
    size_ = s;
  }

  void build(const wb::ModelSpec& spec) override {
    // Initialisation draws from torch's default generator; seed it from the run's seed
    // so the same config gives the same initial weights.
    torch::manual_seed(ctx_.seed("init"));
    net_ = igpt::Transformer(igpt::Dims{size_.layers, size_.width, size_.heads, spec.vocab_size,
                                        spec.context, attention_});
    if (!hf_weights_.empty()) {
      igpt::load_hf_weights(net_, hf_weights_, hf_);
      ctx_.log(wb::LogLevel::Info, fmt::format("igpt: weights from {}", hf_weights_));
    }
  }

  using wb::Model::forward;
  wb::ForwardOutput forward(const wb::ForwardInput& in, const wb::FeatureRequest& want) override {
    const auto& net = *net_;
    const int64_t n = in.tokens.size(0), s = in.tokens.size(1);
    if (s > net.dims.context)
      throw wb::Error(fmt::format("igpt: {} tokens exceed the context of {}", s, net.dims.context));
    auto h = net_->wte(in.tokens);  // (N, S, d)
    if (in.masked.defined())
      h = h * (~in.masked).unsqueeze(-1).to(h.dtype());  // BERT: zero embedding
    if (in.shift_sos)
      h = torch::cat({net_->sos.view({1, 1, -1}).expand({n, 1, -1}), h.slice(1, 0, s - 1)}, 1);
    h = h + net_->wpe.slice(0, 0, s);
    wb::ForwardOutput out;
    // The pre-norm blocks, x + attend(ln_1(x)) then + feed_forward(ln_2(.)), with each
    // residual add fused with the norm that reads its result
    // (igpt::add_rms_norm): the residual stream h (float32) and the
    // normalised input of the next product (bfloat16 under CPU autocast) go from block
    // to block. Layer l's feature (paper §5) is block l's normalised input: the hidden
    // state after l blocks, normalised by the norm that reads it next (the final norm
    // after the last block), averaged over positions (or over regions:
    // want.grid), in float32.
    auto& blocks = net_->block_list;
    auto normed = igpt::add_rms_norm(h, {}, blocks[0]->ln_1->g).second;  // (N, S, d)
    for (int64_t l = 0; l < size_.layers; ++l) {
      if (want.want)
        out.features.push_back(wb::pool_positions(normed.to(torch::kFloat32), want.grid));
      const auto& next_g = l + 1 < size_.layers ? blocks[l + 1]->ln_1->g : net_->ln_f->g;
      // Block l: (h, its normalised copy) -> the same after the block. Captures by
      // value: a checkpointed block runs again in the backward, after forward returned.
      auto block = [b = blocks[l], g = next_g, causal = in.causal](
                       const torch::Tensor& x, const torch::Tensor& x_n) mutable {
        auto [mid, mid_n] = igpt::add_rms_norm(x, b->attend(x_n, causal), b->ln_2->g);
        return igpt::add_rms_norm(mid, b->feed_forward(mid_n), g);
      };
      std::tie(h, normed) = checkpoint_ ? igpt::checkpointed(block, h, normed) : block(h, normed);
    }
    if (want.want)
      out.features.push_back(wb::pool_positions(normed.to(torch::kFloat32), want.grid));
    out.logits = igpt::linear(normed, net_->head->weight);  // (N, S, vocab)
    return out;
  }

  std::unique_ptr<wb::DecodeState> start_decoding(int64_t batch) override {
    const auto& d = net_->dims;
    auto state = std::make_unique<Decode>();
    auto opts = net_->wpe.options();
    for (int64_t l = 0; l < d.layers; ++l)
      state->caches.push_back({torch::zeros({batch, d.heads, d.context, d.width / d.heads}, opts),
                               torch::zeros({batch, d.heads, d.context, d.width / d.heads}, opts)});
    state->batch = batch;
    return state;
  }

  // The same computation as forward() with causal attention and the SOS shift, one
  // position at a time: the input at t is the SOS vector (t = 0) or token t-1.
  torch::Tensor decode_step(wb::DecodeState& base, const torch::Tensor& previous) override {
    auto& st = dynamic_cast<Decode&>(base);
    const int64_t t = st.t;
    if (t >= net_->dims.context)
      throw wb::Error(fmt::format("igpt: decoding past the context of {}", net_->dims.context));
    auto h = t == 0 ? net_->sos.view({1, 1, -1}).expand({st.batch, 1, -1})
                    : net_->wte(previous.view({-1, 1}));  // (N, 1, d)
    h = h + net_->wpe[t];
    for (int64_t l = 0; l < size_.layers; ++l)
      h = net_->block_list[l]->forward_step(h, st.caches[l], t);
    ++st.t;
    return igpt::linear(net_->ln_f(h), net_->head->weight).squeeze(1);  // (N, vocab)
  }

  torch::nn::Module& module() override { return *net_; }
  int64_t num_layers() const override { return size_.layers; }
  int64_t width() const override { return size_.width; }

 private:
  struct Decode : wb::DecodeState {
    std::vector<igpt::KvCache> caches;  // one per block
    int64_t t = 0, batch = 0;
  };

  wb::PluginContext& ctx_;
  Size size_{};
  std::string hf_weights_;                             // a Hugging Face folder, or ""
  igpt::HfConfig hf_;                                  // its config.json, read once
  bool checkpoint_ = false;                            // recompute each block in the backward pass
  igpt::Attention attention_ = igpt::Attention::Auto;  // the attention key
  igpt::Transformer net_{nullptr};
};

}  // namespace

WB_PLUGIN(Model, "igpt", "1.4.0", "Image GPT transformer (RMS norm, quick GELU, SOS, no biases)",
          Igpt)
