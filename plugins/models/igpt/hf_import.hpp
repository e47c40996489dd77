#pragma once
// Released ImageGPT weights (Hugging Face's format: openai/imagegpt-small, -medium,
// -large) into this plugin's transformer. A folder holds config.json and
// model.safetensors (safetensors.hpp) or pytorch_model.bin (state_dict_reader.hpp).
// The names map as
//   transformer.wte.weight (V+1, d)       rows 0..V-1 -> wte.weight, row V (SOS) -> sos
//   transformer.wpe.weight (P, d)         first `context` rows -> wpe
//   transformer.h.i.ln_1/ln_2.weight      -> blocks.i.ln_1.g / ln_2.g (RMS norms)
//   transformer.h.i.attn.c_attn.weight    Conv1D (d, 3d): columns q | k | v, each
//                                         transposed -> blocks.i.q/k/v.weight (d, d)
//   transformer.h.i.attn.c_proj.weight    (d, d) transposed -> blocks.i.proj.weight
//   transformer.h.i.mlp.c_fc.weight       (d, 4d) transposed -> blocks.i.fc.weight
//   transformer.h.i.mlp.c_proj.weight     (4d, d) transposed -> blocks.i.fc_out.weight
//   transformer.ln_f.weight               -> ln_f.g
//   lm_head.weight (V, d)                 -> head.weight (untied)
// This model has no biases: a bias that is all zeros is accepted, any other is refused
// with the reason. A missing or misshapen tensor is refused naming it.
#include <string>

#include "igpt_module.hpp"

namespace igpt {

// What config.json says (a palette of `vocab` colours: its vocab_size less the SOS
// token). Refuses an activation other than quick_gelu or a norm epsilon other than
// 1e-5, which this model would compute differently.
struct HfConfig {
  int64_t layers = 0, width = 0, heads = 0, vocab = 0, positions = 0;
};
HfConfig read_hf_config(const std::string& folder);

// The weights of `folder`, whose config.json read_hf_config gave `c`, into `net`, whose
// dims must match (context <= positions).
void load_hf_weights(Transformer& net, const std::string& folder, const HfConfig& c);

}  // namespace igpt
