// The igpt plugin against Hugging Face transformers' ImageGPT (tests/golden/
// hf_imagegpt.py): the plugin's weights, inputs and outputs are written to a folder,
// the script rebuilds the model in transformers and compares. The reference Python is
// the engine's virtual environment (tools/setup.sh installs torch and transformers
// there), so the test always runs: a missing reference is a failure, not a skip.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <workbench/workbench.hpp>

#include "test_support.hpp"

namespace fs = std::filesystem;

namespace {

struct Dump {
  explicit Dump(std::string dir) : dir(std::move(dir)), manifest(this->dir + "/manifest.txt") {}
  void add(const std::string& name, const torch::Tensor& t) {
    auto c = t.detach().cpu().contiguous();
    manifest << name << " " << (c.scalar_type() == torch::kLong ? "int64" : "float32");
    for (auto s : c.sizes()) manifest << " " << s;
    manifest << "\n";
    std::ofstream(dir + "/" + name + ".bin", std::ios::binary)
        .write(static_cast<const char*>(c.data_ptr()), c.numel() * c.element_size());
  }
  std::string dir;
  std::ofstream manifest;
};

}  // namespace

TEST(Golden, HuggingFaceImageGptGivesTheSameLogitsAndFeatures) {
  const std::string python = WB_REFERENCE_PYTHON;
  if (!fs::exists(python) ||
      std::system((python + " -c 'import transformers' 2>/dev/null").c_str()) != 0)
    FAIL() << "no reference Python with transformers at " << python
           << " (bash tools/setup.sh installs it)";
  auto rc = wbtest::run_config(wbtest::minimal_experiment(),
                               {"model.layers=3", "model.width=32", "model.heads=4"});
  wbtest::HostFixture host(rc.at("model"));
  auto model = wbtest::plugins().create<wb::Model>("igpt", *host.context);
  model->build({16, 12});
  torch::NoGradGuard no_grad;
  // Every weight away from its initial value (the head starts at zero, norms at one).
  auto gen = torch::make_generator<at::CPUGeneratorImpl>(21);
  for (auto& p : model->module().named_parameters())
    p.value().add_(torch::randn(p.value().sizes(), gen) * 0.3);

  wbtest::TempDir dir;
  Dump dump(dir.path);
  for (auto& p : model->module().named_parameters()) dump.add(p.key(), p.value());
  auto tokens = torch::randint(0, 16, {3, 12}, gen, torch::kLong);
  dump.add("tokens", tokens);
  dump.add("heads", torch::tensor({int64_t{4}}));
  for (bool ar : {true, false}) {
    wb::ForwardInput in;
    in.tokens = tokens;
    in.causal = ar;
    in.shift_sos = ar;
    auto out = model->forward(in, wb::FeatureRequest{true});
    const std::string prefix = ar ? "ar_" : "bert_";
    dump.add(prefix + "logits", out.logits);
    for (size_t l = 0; l < out.features.size(); ++l)
      dump.add(prefix + "feature" + std::to_string(l), out.features[l]);
  }
  dump.manifest.close();
  const std::string cmd = python + " " + WB_TEST_SOURCE_DIR "/golden/hf_imagegpt.py " + dir.path +
                          " > " + dir / "report.txt" + " 2>&1";
  const int status = std::system(cmd.c_str());
  const std::string text = wbtest::read_text(dir / "report.txt");
  EXPECT_EQ(status, 0) << text;
  std::cout << text.substr(text.rfind("transformers ImageGPT") == std::string::npos
                               ? 0
                               : text.rfind("transformers ImageGPT"));
}
