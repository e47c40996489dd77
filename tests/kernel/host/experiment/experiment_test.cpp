#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <workbench/error.hpp>
#include <workbench/precision.hpp>

#include "experiment/experiment.hpp"
#include "plugins/plugin_registry.hpp"
#include "store/checks.hpp"
#include "test_support.hpp"

using wbtest::run_config;

namespace {

const char* kBase = R"(
[experiment]
name = "t"
seed = 3

[dataset]
plugin = "fashion_mnist"
resolution = 14

[quantizer]
plugin = "grey"
levels = 8

[model]
plugin = "igpt"
size = "tiny"

[objective]
plugin = "ar"

[training]
steps = 10

[[evaluators]]
plugin = "linear_probe"
)";

// The message of the wb::Error that parsing `toml` throws.
std::string error_of(const std::string& toml, const std::vector<std::string>& sets = {}) {
  try {
    wb::parse_experiment(toml, "exp.toml", sets, wbtest::plugins());
  } catch (const wb::Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no error for:\n" << toml;
  return "";
}

std::string with(const std::string& from, const std::string& to) {
  std::string s = kBase;
  auto at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return s.replace(at, from.size(), to);
}

}  // namespace

TEST(Experiment, ResolvesDefaultsOfHostAndPluginKeys) {
  auto rc = run_config(kBase);
  EXPECT_EQ(rc.at("model").get_string("size"), "tiny");
  EXPECT_EQ(rc.at("model").get_int("layers"), 0);              // plugin default
  EXPECT_EQ(rc.at("training").get_int("batch_size"), 32);      // host default
  EXPECT_EQ(rc.at("dataset").get_float("val_fraction"), 0.1);  // plugin default
  EXPECT_EQ(rc.evaluators.at(0).get_int("max_iter"), 200);
  EXPECT_EQ(rc.label, "default");
  EXPECT_NE(rc.canonical.find("levels = 8"), std::string::npos);
}

TEST(Experiment, MalformedTomlNamesFileAndLine) {
  std::string msg = error_of(with("levels = 8", "levels = = 8"));
  EXPECT_NE(msg.find("exp.toml:12:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("malformed TOML"), std::string::npos) << msg;
}

TEST(Experiment, UnknownKeyNamesLineKeyAndSuggestion) {
  std::string msg = error_of(with("size = \"tiny\"", "size = \"tiny\"\nlayrs = 4"));
  EXPECT_NE(msg.find("exp.toml:17:1"), std::string::npos) << msg;
  EXPECT_NE(msg.find("unknown key 'layrs'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("did you mean 'layers'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("valid keys: size, layers, width, heads"), std::string::npos) << msg;
}

TEST(Experiment, WrongTypeNamesTheExpectedType) {
  std::string msg = error_of(with("levels = 8", "levels = \"eight\""));
  EXPECT_NE(msg.find("exp.toml:12:1"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[quantizer] key 'levels' must be of type integer"), std::string::npos) << msg;
}

TEST(Experiment, OutOfRangeAndBadChoiceAreRefused) {
  EXPECT_NE(error_of(with("levels = 8", "levels = 1")).find("out of range"), std::string::npos);
  EXPECT_NE(error_of(with("size = \"tiny\"", "size = \"huge\"")).find("not one of: tiny, mini"),
            std::string::npos);
  // nan is valid TOML, and without this check reached Adam ("Invalid learning rate").
  const std::string nan = error_of(kBase, {"training.lr=nan"});
  EXPECT_NE(nan.find("[training] key 'lr' = nan is not a finite number"), std::string::npos) << nan;
}

TEST(Experiment, UnknownPluginListsTheAlternatives) {
  std::string msg = error_of(with("plugin = \"ar\"", "plugin = \"ra\""));
  EXPECT_NE(msg.find("unknown objective plugin 'ra'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("did you mean 'ar'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("Available objectives: ar, bert"), std::string::npos) << msg;
}

TEST(Experiment, UnknownSectionSuggestsTheNearOne) {
  std::string msg = error_of(std::string(kBase) + "\n[trainig]\nsteps = 3\n");
  EXPECT_NE(msg.find("unknown section 'trainig' (did you mean 'training'?)"), std::string::npos)
      << msg;
}

TEST(Experiment, SetOverridesWinAndAreNamedInErrors) {
  auto rc = run_config(kBase, {"model.layers=3", "training.lr=0.01", "dataset.path=/data/fm"});
  EXPECT_EQ(rc.at("model").get_int("layers"), 3);
  EXPECT_DOUBLE_EQ(rc.at("training").get_float("lr"), 0.01);
  EXPECT_EQ(rc.at("dataset").get_string("path"), "/data/fm");  // no quotes needed
  std::string msg = error_of(kBase, {"model.layers=four"});
  EXPECT_NE(msg.find("--set model.layers=four"), std::string::npos) << msg;
  msg = error_of(kBase, {"modle.layers=4"});
  EXPECT_NE(msg.find("did you mean 'model'"), std::string::npos) << msg;
  auto ev = run_config(kBase, {"evaluators.0.max_iter=7"});
  EXPECT_EQ(ev.evaluators.at(0).get_int("max_iter"), 7);
}

TEST(Experiment, VariantsTimesSweepPointsExpandInOrder) {
  std::string toml = std::string(kBase) + R"(
[variants.small.model]
layers = 1
[variants.big.model]
layers = 2
[sweep.training]
lr = [0.001, 0.003]
)";
  auto exp = wb::parse_experiment(toml, "exp.toml", {}, wbtest::plugins());
  ASSERT_EQ(exp.runs.size(), 4u);
  EXPECT_EQ(exp.runs[0].label, "small training.lr=0.001");
  EXPECT_EQ(exp.runs[3].label, "big training.lr=0.003");
  EXPECT_EQ(exp.runs[3].at("model").get_int("layers"), 2);
  EXPECT_DOUBLE_EQ(exp.runs[1].at("training").get_float("lr"), 0.003);
  // Runs that differ only in the probe share a checkpoint; different models do not.
  EXPECT_NE(exp.runs[0].pretrain_hash, exp.runs[2].pretrain_hash);
  EXPECT_EQ(exp.runs[0].data_hash, exp.runs[3].data_hash);
}

TEST(Experiment, AVariantCanAddTheNextEvaluatorButNotSkipOne) {
  // kBase has one evaluator (index 0); the bert variant adds a second.
  std::string toml = std::string(kBase) + R"(
[variants.ar]
"objective.plugin" = "ar"
[variants.bert]
"objective.plugin" = "bert"
"evaluators.1.plugin" = "mask_ensemble"
"evaluators.1.masks" = 3
)";
  auto exp = wb::parse_experiment(toml, "exp.toml", {}, wbtest::plugins());
  ASSERT_EQ(exp.runs.size(), 2u);
  EXPECT_EQ(exp.runs[0].evaluators.size(), 1u);
  ASSERT_EQ(exp.runs[1].evaluators.size(), 2u);
  EXPECT_EQ(exp.runs[1].evaluators[1].get_string("plugin"), "mask_ensemble");
  EXPECT_EQ(exp.runs[1].evaluators[1].get_int("masks"), 3);
  std::string msg = error_of(kBase, {"evaluators.2.plugin=finetune"});
  EXPECT_NE(msg.find("there are only 1 evaluators (evaluators.1 adds one)"), std::string::npos)
      << msg;
}

TEST(Experiment, HashIsStableAcrossFormattingAndNamesButNotValues) {
  auto a = run_config(kBase);
  // Same config: other key order, a comment, an explicit default, another name.
  std::string reordered =
      with("plugin = \"grey\"\nlevels = 8", "levels = 8 # palette\nplugin = \"grey\"");
  reordered = reordered.replace(reordered.find("name = \"t\""), 10, "name = \"u\"");
  auto b = run_config(reordered, {"training.batch_size=32"});
  EXPECT_EQ(a.hash, b.hash);
  EXPECT_EQ(a.pretrain_hash, b.pretrain_hash);
  auto c = run_config(kBase, {"quantizer.levels=9"});
  EXPECT_NE(a.hash, c.hash);
  EXPECT_NE(a.data_hash, c.data_hash);
  auto d = run_config(kBase, {"evaluators.0.max_iter=50"});
  EXPECT_NE(a.hash, d.hash);
  EXPECT_EQ(a.pretrain_hash, d.pretrain_hash);  // a new probe reuses the checkpoint
  // A CUDA graph replays the eager step's kernels: the same pretraining.
  auto e = run_config(kBase, {"training.cuda_graph=true"});
  EXPECT_EQ(a.hash, e.hash);
  EXPECT_EQ(a.pretrain_hash, e.pretrain_hash);
  // The hash is fixed by the config text alone: a change here means old results no
  // longer match their configs.
  EXPECT_EQ(a.hash.size(), 16u);
}

// "auto" means bfloat16 on one CPU and float32 on another: the pretraining's identity
// holds what it resolves to here, so a checkpoint of one precision is never reused as
// the other's, and the resolved config says which it was.
TEST(Experiment, TheResolvedPrecisionIsPartOfThePretrainingsIdentity) {
  const auto f32 = run_config(kBase, {"training.precision=\"float32\""});
  const auto bf16 = run_config(kBase, {"training.precision=\"bfloat16\""});
  const auto automatic = run_config(kBase, {"experiment.device=\"cpu\""});
  EXPECT_NE(f32.canonical.find("# computed on cpu in float32"), std::string::npos) << f32.canonical;
  EXPECT_NE(bf16.canonical.find("# computed on cpu in bfloat16"), std::string::npos);
  const bool fast = wb::has_native_bfloat16(torch::kCPU);
  EXPECT_NE(automatic.canonical.find(fast ? "in bfloat16" : "in float32"), std::string::npos)
      << automatic.canonical;
}

// The plugins kBase uses, copied into `dir`; `changed` gets one more byte at its end,
// as a rebuild with other code gives another file (it still loads).
wb::PluginRegistry plugin_copies(const std::filesystem::path& dir, const std::string& changed) {
  namespace fs = std::filesystem;
  for (const std::string name : {"fashion_mnist", "grey", "igpt", "ar", "linear_probe"}) {
    const std::string file = "libwb_" + name + ".so";
    fs::copy_file(fs::path(WB_TEST_PLUGIN_DIR) / file, dir / file);
    if (name == changed) std::ofstream(dir / file, std::ios::app | std::ios::binary) << '\n';
  }
  wb::PluginRegistry reg;
  reg.scan({dir.string()});
  return reg;
}

TEST(Experiment, APluginWithOtherCodeChangesTheHashesOfWhatItMakes) {
  auto hashes = [](const std::string& changed) {
    wbtest::TempDir dir;
    auto reg = plugin_copies(dir.path, changed);
    return wb::parse_experiment(kBase, "exp.toml", {}, reg).runs.at(0);
  };
  const auto same = hashes(""), again = hashes("");
  EXPECT_EQ(same.hash, again.hash);  // identical code: every cache is kept
  EXPECT_EQ(same.data_hash, again.data_hash);
  const auto quantizer = hashes("grey");  // tokens, checkpoint and run made again
  EXPECT_NE(quantizer.data_hash, same.data_hash);
  EXPECT_NE(quantizer.pretrain_hash, same.pretrain_hash);
  EXPECT_NE(quantizer.hash, same.hash);
  const auto objective = hashes("ar");  // the tokens stay, the checkpoint does not
  EXPECT_EQ(objective.data_hash, same.data_hash);
  EXPECT_NE(objective.pretrain_hash, same.pretrain_hash);
  const auto probe = hashes("linear_probe");  // only the run's evaluation is redone
  EXPECT_EQ(probe.pretrain_hash, same.pretrain_hash);
  EXPECT_NE(probe.hash, same.hash);
  // The resolved config records each plugin's version and code.
  EXPECT_NE(same.canonical.find("# quantizer grey "), std::string::npos) << same.canonical;
  EXPECT_NE(same.canonical.find(" sha256:"), std::string::npos);
}

TEST(Experiment, MissingPluginKeyListsTheChoices) {
  std::string msg = error_of(with("plugin = \"ar\"", ""));
  EXPECT_NE(msg.find("[objective] needs key 'plugin'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("available: ar, bert"), std::string::npos) << msg;
}

TEST(Experiment, EveryShippedExperimentAndChecksFileLoads) {
  // experiments/**/*.toml: each parses, validates and expands (experiments/paper/ too);
  // *.checks.toml: each loads.
  const std::filesystem::path dir =
      std::filesystem::path(WB_TEST_SOURCE_DIR) / ".." / "experiments";
  int experiments = 0, checks = 0, paper = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    const std::string file = entry.path().string();
    if (entry.path().extension() != ".toml") continue;
    if (file.size() > 12 && file.substr(file.size() - 12) == ".checks.toml") {
      EXPECT_NO_THROW(wb::load_checks(file)) << file;
      ++checks;
    } else {
      EXPECT_NO_THROW(wb::load_experiment(file, {}, wbtest::plugins())) << file;
      ++experiments;
      paper += entry.path().parent_path().filename() == "paper";
    }
  }
  EXPECT_GE(experiments, 4);
  EXPECT_EQ(paper, 5);  // probes on CIFAR-10, CIFAR-100, STL-10; fine-tuning on CIFAR-10/100
  EXPECT_GE(checks, 1);
}
