#include "hf_import.hpp"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <workbench/error.hpp>

#include "safetensors.hpp"
#include "state_dict_reader.hpp"

namespace igpt {

namespace fs = std::filesystem;

namespace {

nlohmann::json read_json(const fs::path& path) {
  std::ifstream in(path);
  if (!in) throw wb::Error(fmt::format("{}: cannot open", path.string()));
  try {
    return nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    throw wb::Error(fmt::format("{}: not JSON: {}", path.string(), e.what()));
  }
}

// model.safetensors, else pytorch_model.bin (torch.save's zip of a state dict).
std::map<std::string, torch::Tensor> read_weights(const fs::path& folder) {
  const fs::path safe = folder / "model.safetensors", bin = folder / "pytorch_model.bin";
  if (fs::exists(safe)) return read_safetensors(safe.string());
  if (!fs::exists(bin))
    throw wb::Error(fmt::format("{}: no model.safetensors or pytorch_model.bin", folder.string()));
  return read_state_dict(bin.string());
}

std::string shape_text(torch::IntArrayRef shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

}  // namespace

HfConfig read_hf_config(const std::string& folder) {
  const fs::path path = fs::path(folder) / "config.json";
  const auto j = read_json(path);
  auto field = [&](const char* key) {
    if (!j.contains(key) || !j[key].is_number_integer())
      throw wb::Error(fmt::format("{}: needs an integer '{}'", path.string(), key));
    return j[key].get<int64_t>();
  };
  HfConfig c;
  c.layers = field("n_layer");
  c.width = field("n_embd");
  c.heads = field("n_head");
  c.vocab = field("vocab_size") - 1;  // the last token is SOS
  c.positions = field("n_positions");
  const std::string act = j.value("activation_function", "quick_gelu");
  if (act != "quick_gelu")
    throw wb::Error(fmt::format("{}: activation_function '{}': this model computes quick_gelu",
                                path.string(), act));
  const double eps = j.value("layer_norm_epsilon", 1e-5);
  if (std::abs(eps - 1e-5) > 1e-12)
    throw wb::Error(
        fmt::format("{}: layer_norm_epsilon {}: this model's norms use 1e-5", path.string(), eps));
  return c;
}

void load_hf_weights(Transformer& net, const std::string& folder, const HfConfig& c) {
  const auto& d = net->dims;
  if (c.layers != d.layers || c.width != d.width || c.heads != d.heads)
    throw wb::Error(
        fmt::format("{}: {} layers of width {} with {} heads; the model was built "
                    "with {}, {} and {}",
                    folder, c.layers, c.width, c.heads, d.layers, d.width, d.heads));
  if (c.vocab != d.vocab)
    throw wb::Error(
        fmt::format("{}: a palette of {} colours; the run's has {} (use the folder's "
                    "palette: the hf_palette quantizer)",
                    folder, c.vocab, d.vocab));
  if (c.positions < d.context)
    throw wb::Error(fmt::format("{}: {} positions; the run's images have {} tokens", folder,
                                c.positions, d.context));
  const auto weights = read_weights(folder);
  auto take = [&](const std::string& name, std::vector<int64_t> shape) {
    const auto it = weights.find(name);
    if (it == weights.end()) throw wb::Error(fmt::format("{}: no tensor '{}'", folder, name));
    if (it->second.sizes() != torch::IntArrayRef(shape))
      throw wb::Error(fmt::format("{}: tensor '{}' has shape {}, expected {}", folder, name,
                                  shape_text(it->second.sizes()), shape_text(shape)));
    return it->second.to(torch::kFloat32);
  };
  auto no_bias = [&](const std::string& name, int64_t n) {
    const auto it = weights.find(name);
    if (it == weights.end()) return;  // absent: nothing to refuse
    const auto b = take(name, {n});
    const double largest = b.abs().max().item<double>();
    if (largest != 0)
      throw wb::Error(
          fmt::format("{}: bias '{}' is not zero (largest |value| {:.3g}); this model "
                      "has no biases, so these weights would compute another function",
                      folder, name, largest));
  };
  torch::NoGradGuard no_grad;
  const auto wte = take("transformer.wte.weight", {d.vocab + 1, d.width});
  net->wte->weight.copy_(wte.slice(0, 0, d.vocab));
  net->sos.copy_(wte[d.vocab]);
  net->wpe.copy_(take("transformer.wpe.weight", {c.positions, d.width}).slice(0, 0, d.context));
  for (int64_t i = 0; i < d.layers; ++i) {
    const std::string p = fmt::format("transformer.h.{}.", i);
    auto& b = net->block_list[i];
    b->ln_1->g.copy_(take(p + "ln_1.weight", {d.width}));
    b->ln_2->g.copy_(take(p + "ln_2.weight", {d.width}));
    const auto qkv = take(p + "attn.c_attn.weight", {d.width, 3 * d.width});  // (in, out)
    b->q->weight.copy_(qkv.slice(1, 0, d.width).t());
    b->k->weight.copy_(qkv.slice(1, d.width, 2 * d.width).t());
    b->v->weight.copy_(qkv.slice(1, 2 * d.width, 3 * d.width).t());
    b->proj->weight.copy_(take(p + "attn.c_proj.weight", {d.width, d.width}).t());
    b->fc->weight.copy_(take(p + "mlp.c_fc.weight", {d.width, 4 * d.width}).t());
    b->fc_out->weight.copy_(take(p + "mlp.c_proj.weight", {4 * d.width, d.width}).t());
    no_bias(p + "attn.c_attn.bias", 3 * d.width);
    no_bias(p + "attn.c_proj.bias", d.width);
    no_bias(p + "mlp.c_fc.bias", 4 * d.width);
    no_bias(p + "mlp.c_proj.bias", d.width);
  }
  net->ln_f->g.copy_(take("transformer.ln_f.weight", {d.width}));
  net->head->weight.copy_(take("lm_head.weight", {d.vocab, d.width}));
}

}  // namespace igpt
