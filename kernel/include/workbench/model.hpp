#pragma once
#include <memory>
#include <stdexcept>
#include <vector>

#include <torch/nn/module.h>
#include <torch/types.h>

#include <workbench/plugin.hpp>

namespace wb {

// What the data determine about a model; the host fills it before build().
struct ModelSpec {
  int64_t vocab_size = 0;  // palette size
  int64_t context = 0;     // tokens per image (H*W)
};

// How the model sees one batch. The objective fills it; the model does not know
// which objective it serves.
struct ForwardInput {
  torch::Tensor tokens;   // int64 (N, S)
  torch::Tensor masked;   // bool (N, S) or undefined: zero token embedding there (BERT)
  bool causal = true;     // causal self-attention (AR) or bidirectional (BERT)
  bool shift_sos = true;  // input is [sos, x1 .. x(S-1)]: predict x_i from x_<i (AR)
};

// What an evaluator asks of a forward pass besides the logits: per-layer features.
struct FeatureRequest {
  bool want = false;  // also return per-layer features
  int64_t grid = 1;   // how they pool: wb::pool_positions (feature_pool.hpp)
};

struct ForwardOutput {
  torch::Tensor logits;  // float (N, S, vocab)
  // When asked: L+1 tensors (N, d), layer l's normalised hidden state averaged over
  // positions (l = 0 is the embedding), from the same pass as the logits; with
  // grid g > 1, (N, g*g*d) region means instead (wb::pool_positions).
  std::vector<torch::Tensor> features;
};

// A model's key/value cache for incremental decoding; each model defines its own.
class WB_API DecodeState {
 public:
  virtual ~DecodeState();
};

class WB_API Model : public Plugin {
 public:
  ~Model() override;
  virtual void build(const ModelSpec& spec) = 0;
  virtual ForwardOutput forward(const ForwardInput& input, const FeatureRequest& features) = 0;
  // The logits alone.
  ForwardOutput forward(const ForwardInput& input) { return forward(input, FeatureRequest{}); }
  // Parameters, train/eval mode, device moves and (de)serialisation go through it.
  virtual torch::nn::Module& module() = 0;
  virtual int64_t num_layers() const = 0;
  virtual int64_t width() const = 0;

  // Autoregressive sampling, one position per call with a key/value cache, so a whole
  // image costs S attention rows rather than S full passes. start_decoding returns a
  // fresh cache for `batch` sequences (nullptr: this model cannot decode
  // incrementally). decode_step takes the token at the previous position, int64 (N),
  // undefined at the first call (the start-of-sequence input), and returns the
  // causal model's logits for the current position, float (N, vocab).
  virtual std::unique_ptr<DecodeState> start_decoding(int64_t batch) {
    (void)batch;
    return nullptr;
  }
  virtual torch::Tensor decode_step(DecodeState& state, const torch::Tensor& previous) {
    (void)state;
    (void)previous;
    throw std::logic_error("this model does not decode incrementally");
  }
};

template <>
constexpr const char* kind_name<Model>() {
  return "model";
}

}  // namespace wb
