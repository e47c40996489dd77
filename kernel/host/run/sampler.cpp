#include "run/sampler.hpp"

#include <stb_image_write.h>

#include <filesystem>

#include <fmt/format.h>
#include <workbench/workbench.hpp>

#include "platform/progress.hpp"
#include "run/run_assembly.hpp"
#include "run/run_context.hpp"
#include "run/runner.hpp"
#include "run/tokens.hpp"
#include "training/trainer.hpp"

namespace fs = std::filesystem;

namespace wb {

torch::Tensor complete(Model& model, const torch::Tensor& tokens, int64_t keep, double temperature,
                       torch::Generator& gen) {
  torch::NoGradGuard no_grad;
  const int64_t n = tokens.size(0), s = tokens.size(1);
  auto state = model.start_decoding(n);
  if (!state) throw Error("this model cannot decode incrementally, so it cannot sample");
  auto out = tokens.clone();
  torch::Tensor previous;  // undefined: the start-of-sequence input
  for (int64_t t = 0; t < s; ++t) {
    auto logits = model.decode_step(*state, previous);  // (N, vocab)
    if (t >= keep) {
      auto probs = torch::softmax(logits.to(torch::kCPU, torch::kFloat32) / temperature, -1);
      out.select(1, t).copy_(torch::multinomial(probs, 1, false, gen).squeeze(1));
    }
    previous = out.select(1, t).to(logits.device());
  }
  return out;
}

void write_png_grid(const std::string& path, const std::vector<torch::Tensor>& rows,
                    int64_t scale) {
  if (rows.empty()) throw Error("no images to draw");
  const int64_t h = rows[0].size(1), w = rows[0].size(2), c = rows[0].size(3);
  int64_t cols = 0;
  for (const auto& r : rows) cols = std::max(cols, r.size(0));
  const int64_t cell_h = h * scale, cell_w = w * scale;
  const int64_t height = static_cast<int64_t>(rows.size()) * (cell_h + 1) - 1;
  const int64_t width = cols * (cell_w + 1) - 1;
  auto canvas = torch::full({height, width, c}, 255, torch::kUInt8);
  for (size_t i = 0; i < rows.size(); ++i)
    for (int64_t j = 0; j < rows[i].size(0); ++j) {
      auto big = rows[i][j].repeat_interleave(scale, 0).repeat_interleave(scale, 1);
      canvas.narrow(0, static_cast<int64_t>(i) * (cell_h + 1), cell_h)
          .narrow(1, j * (cell_w + 1), cell_w)
          .copy_(big);
    }
  if (!fs::path(path).parent_path().empty()) fs::create_directories(fs::path(path).parent_path());
  canvas = canvas.contiguous();
  if (!stbi_write_png(path.c_str(), static_cast<int>(width), static_cast<int>(height),
                      static_cast<int>(c), canvas.data_ptr<uint8_t>(), static_cast<int>(width * c)))
    throw Error(fmt::format("{}: cannot write the PNG", path));
}

void sample_run(const RunConfig& rc, const PluginRegistry& reg, const SampleOptions& opt) {
  const torch::Device device = resolve_device(rc.at("experiment").get_string("device"));
  StoreArtifacts artifacts(opt.artifacts_root, nullptr, 0);  // reads the cache, records nothing
  RunAssembly run(rc, reg, device, artifacts);
  // The checkpoint's key follows from the tokens: without a token cache there is no
  // checkpoint either (and sampling makes none).
  const std::string tokens =
      (fs::path(artifacts.path("tokens", rc.data_hash)) / "tokens.pt").string();
  const std::string ckpt = fs::exists(tokens) ? run.final_checkpoint() : tokens;
  if (!fs::exists(ckpt))
    throw Error(
        fmt::format("no pretrained checkpoint for run '{}' at {}; run the experiment "
                    "with `workbench run` first",
                    rc.label, ckpt));
  TokenData& td = run.tokens();
  Quantizer* quantizer = &run.quantizer();
  Model* model = &run.model();
  Objective* objective = &run.objective();
  load_weights(model->module(), ckpt, device);
  model->module().eval();
  const auto& test = td.splits["test"].tokens;
  // Only a causal model with the SOS shift samples left to right.
  auto gen = torch::make_generator<at::CPUGeneratorImpl>(opt.seed);
  auto view = objective->prepare(test.slice(0, 0, 1).to(device), gen).input;
  if (!view.causal || !view.shift_sos || view.masked.defined())
    throw Error(
        fmt::format("objective '{}' is not autoregressive: its checkpoint cannot sample "
                    "images left to right",
                    rc.at("objective").get_string("plugin")));

  const int64_t h = td.height, w = td.width, n = std::min(opt.images, test.size(0));
  const int64_t keep = (h / 2) * w;  // the top half's tokens
  auto originals = test.slice(0, 0, n).to(device);
  auto decode = [&](const torch::Tensor& tokens) { return quantizer->decode(tokens.cpu(), h, w); };
  std::vector<torch::Tensor> columns = {decode(originals)};  // each (n, H, W, C)
  auto half = columns[0].clone();
  half.narrow(1, h / 2, h - h / 2).fill_(128);  // the bottom half the model does not see
  columns.push_back(half);
  auto progress =
      make_progress("sample", opt.samples * n * (h * w - keep) + opt.unconditional * h * w);
  for (int64_t k = 0; k < opt.samples; ++k) {
    columns.push_back(decode(complete(*model, originals, keep, opt.temperature, gen)));
    progress->advance(n * (h * w - keep));
  }
  std::vector<torch::Tensor> rows;
  for (int64_t i = 0; i < n; ++i) {
    std::vector<torch::Tensor> row;
    for (const auto& col : columns) row.push_back(col[i]);
    rows.push_back(torch::stack(row));
  }
  if (opt.unconditional > 0) {
    auto start = torch::zeros({opt.unconditional, h * w}, torch::kLong).to(device);
    rows.push_back(decode(complete(*model, start, 0, opt.temperature, gen)));
    progress->advance(opt.unconditional * h * w);
  }
  progress->finish("");
  const int64_t scale = opt.scale > 0 ? opt.scale : std::max<int64_t>(1, (64 + h - 1) / h);
  write_png_grid(opt.out, rows, scale);
  log_message(LogLevel::Info,
              fmt::format("sample: {} test images x {} completions and {} unconditional "
                          "samples of run '{}' -> {}",
                          n, opt.samples, opt.unconditional, rc.label, opt.out));
}

}  // namespace wb
