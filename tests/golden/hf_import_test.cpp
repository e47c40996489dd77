// Released ImageGPT weights, offline: a small ImageGPT made by transformers
// (hf_import_fixture.py, random weights, zero biases) imports through the igpt model's
// hf_weights key, from model.safetensors and from pytorch_model.bin, to the logits and
// per-layer features transformers computes, from model.safetensors and from
// pytorch_model.bin (a plain dict, and the OrderedDict that state_dict() gives); its palette
// through the hf_palette quantizer tokenises images as ImageGPTImageProcessor does; a non-zero
// bias, a missing tensor and a truncated file are refused, named.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>
#include <workbench/workbench.hpp>

#include "store/store.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;

namespace {

// The fixture script's dump: manifest.txt ("name dtype dims...") and name.bin.
std::map<std::string, torch::Tensor> load_dump(const std::string& dir) {
  std::map<std::string, torch::Tensor> out;
  std::ifstream manifest(dir + "/manifest.txt");
  std::string line;
  const std::map<std::string, torch::ScalarType> types = {
      {"float32", torch::kFloat32}, {"int64", torch::kInt64}, {"uint8", torch::kUInt8}};
  while (std::getline(manifest, line)) {
    std::istringstream in(line);
    std::string name, dtype;
    in >> name >> dtype;
    std::vector<int64_t> shape;
    for (int64_t d; in >> d;) shape.push_back(d);
    auto t = torch::empty(shape, torch::TensorOptions().dtype(types.at(dtype)));
    std::ifstream bin(dir + "/" + name + ".bin", std::ios::binary);
    bin.read(static_cast<char*>(t.data_ptr()), static_cast<std::streamsize>(t.nbytes()));
    out[name] = t;
  }
  return out;
}

class HfImport : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new wbtest::TempDir();
    const std::string python = WB_REFERENCE_PYTHON;
    const std::string cmd = python + " " + WB_TEST_SOURCE_DIR "/golden/hf_import_fixture.py " +
                            dir_->path + " > " + (*dir_ / "fixture.log") + " 2>&1";
    status_ = std::system(cmd.c_str());
  }
  static void TearDownTestSuite() { delete dir_; }
  void SetUp() override {
    ASSERT_EQ(status_, 0) << "the fixture needs the test environment's transformers and pillow "
                             "(bash tools/setup.sh): "
                          << wbtest::read_text(*dir_ / "fixture.log");
  }

  static std::shared_ptr<wb::Model> import(const std::string& folder, wbtest::HostFixture** host) {
    auto rc = wbtest::run_config(wbtest::minimal_experiment(), {"model.hf_weights=" + folder});
    *host = new wbtest::HostFixture(rc.at("model"));
    auto model = wbtest::plugins().create<wb::Model>("igpt", *(*host)->context);
    model->build({16, 16});
    return model;
  }

  static wbtest::TempDir* dir_;
  static int status_;
};
wbtest::TempDir* HfImport::dir_ = nullptr;
int HfImport::status_ = -1;

}  // namespace

TEST_F(HfImport, SafetensorsAndTorchSaveGiveTransformersLogitsAndFeatures) {
  const auto want = load_dump(dir_->path);
  for (const std::string sub : {"safe", "bin", "bin_ordered"}) {
    wbtest::HostFixture* host = nullptr;
    auto model = import(*dir_ / sub, &host);
    std::unique_ptr<wbtest::HostFixture> owner(host);
    EXPECT_EQ(model->num_layers(), 2);
    EXPECT_EQ(model->width(), 32);
    torch::NoGradGuard no_grad;
    wb::ForwardInput in;
    in.tokens = want.at("tokens");
    in.causal = true;
    in.shift_sos = true;
    auto out = model->forward(in, wb::FeatureRequest{true});
    const double logits = (out.logits - want.at("ar_logits")).abs().max().item<double>();
    EXPECT_LT(logits, 1e-5) << sub;
    ASSERT_EQ(out.features.size(), 3u);
    for (size_t l = 0; l < out.features.size(); ++l) {
      const double f =
          (out.features[l] - want.at("ar_feature" + std::to_string(l))).abs().max().item<double>();
      EXPECT_LT(f, 1e-5) << sub << " layer " << l;
    }
  }
}

TEST_F(HfImport, ThePaletteTokenisesImagesAsImageGptImageProcessor) {
  const auto want = load_dump(dir_->path);
  auto rc = wbtest::run_config(wbtest::minimal_experiment(), {});
  auto values = rc.at("quantizer").values();
  values = {{"plugin", std::string("hf_palette")}, {"path", *dir_ / "safe"}};
  wb::Section section("quantizer", values);
  wbtest::HostFixture host(section);
  auto q = wbtest::plugins().create<wb::Quantizer>("hf_palette", *host.context);
  EXPECT_EQ(q->vocab_size(), 16);
  EXPECT_EQ(q->channels(), 3);
  const auto tokens = q->encode(want.at("images"));
  EXPECT_TRUE(torch::equal(tokens, want.at("image_tokens")))
      << "mismatches: " << (tokens != want.at("image_tokens")).sum().item<int64_t>();
  // Decoding gives each token's cluster colour.
  const auto rgb = q->decode(tokens, 8, 8);
  EXPECT_EQ(rgb.sizes(), (std::vector<int64_t>{5, 8, 8, 3}));
}

TEST_F(HfImport, ANonZeroBiasAMissingTensorAndATruncatedFileAreRefusedNamed) {
  auto refused = [&](const std::string& folder) {
    try {
      wbtest::HostFixture* host = nullptr;
      auto model = import(folder, &host);
      delete host;
    } catch (const std::exception& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  std::string why = refused(*dir_ / "biased");
  EXPECT_NE(why.find("bias 'transformer.h.1.attn.c_attn.bias' is not zero"), std::string::npos)
      << why;

  // A .bin that is not a torch.save archive, and one whose pickle calls something a
  // state dict does not.
  const fs::path junk = *dir_ / "junk";
  fs::create_directories(junk);
  fs::copy(fs::path(*dir_ / "safe") / "config.json", junk / "config.json");
  std::ofstream(junk / "pytorch_model.bin") << "not a zip";
  why = refused(junk);
  EXPECT_NE(why.find("pytorch_model.bin: not a torch.save zip archive"), std::string::npos) << why;
  why = refused(*dir_ / "evil");
  EXPECT_NE(why.find("calls posix.system, which a state dict of tensors does not"),
            std::string::npos)
      << why;

  why = refused(*dir_ / "missing");
  EXPECT_NE(why.find("no tensor 'lm_head.weight'"), std::string::npos) << why;

  // Truncated: the last tensor ends past the file.
  const fs::path cut = *dir_ / "cut";
  fs::create_directories(cut);
  for (const char* f : {"config.json", "model.safetensors"})
    fs::copy(fs::path(*dir_ / "safe") / f, cut / f);
  fs::resize_file(cut / "model.safetensors", fs::file_size(cut / "model.safetensors") - 100);
  why = refused(cut);
  EXPECT_NE(why.find("model.safetensors: tensor '"), std::string::npos) << why;
  EXPECT_NE(why.find("past the file"), std::string::npos) << why;

  // A folder without weights, and a config of another activation.
  const fs::path empty = *dir_ / "empty";
  fs::create_directories(empty);
  fs::copy(*dir_ / "safe/config.json", empty / "config.json");
  why = refused(empty);
  EXPECT_NE(why.find("no model.safetensors or pytorch_model.bin"), std::string::npos) << why;
  std::string config = wbtest::read_text(empty / "config.json");
  config.replace(config.find("quick_gelu"), 10, "gelu_new");
  std::ofstream(empty / "config.json") << config;
  why = refused(empty);
  EXPECT_NE(why.find("activation_function 'gelu_new'"), std::string::npos) << why;
}

TEST_F(HfImport, AnExperimentProbesTheImportedModelOnCifar10Records) {
  // The CIFAR-10 fixture (real binary records) at 4x4 (the fixture model's 16
  // positions), tokenised by the folder's palette, the imported weights kept as the
  // checkpoint (steps = 0), probed at every layer.
  const std::string folder = *dir_ / "safe";
  std::ofstream(*dir_ / "paper.toml") << fmt::format(R"(
[experiment]
name = "imported"
threads = 1
[dataset]
plugin = "cifar10"
path = "{}/cifar10"
val_fraction = 0.2
resolution = 4
[quantizer]
plugin = "hf_palette"
path = "{}"
[model]
plugin = "igpt"
hf_weights = "{}"
[objective]
plugin = "ar"
[training]
steps = 0
batch_size = 4
precision = "float32"
[[evaluators]]
plugin = "linear_probe"
l2_steps = 1
max_iter = 20
)",
                                                     WB_TEST_DATA_DIR, folder, folder);
  std::string out;
  ASSERT_EQ(
      wbtest::run_cli(
          fmt::format("run {} --db {}", *dir_ / "paper.toml", *dir_ / "paper/results.db"), &out),
      0)
      << out;
  EXPECT_NE(out.find("igpt: weights from " + folder), std::string::npos) << out;
  EXPECT_NE(out.find("model: 2 layers, width 32"), std::string::npos) << out;
  wb::Store store(*dir_ / "paper/results.db");
  int64_t rows = 0;
  store.query("SELECT COUNT(*) FROM results WHERE metric = 'accuracy'", {},
              [&](auto&, const auto& v) { rows = std::stoll(v[0]); });
  EXPECT_EQ(rows, 3 * 3);  // layers 0..2 x train, val, test
}
