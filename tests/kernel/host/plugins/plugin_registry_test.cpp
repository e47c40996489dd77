#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <workbench/workbench.hpp>

#include "test_support.hpp"

using wb::PluginRegistry;

namespace {
const std::string kFixtures = WB_TEST_FIXTURE_PLUGIN_DIR;

const wb::RefusedPlugin* refusal(const PluginRegistry& reg, const std::string& file_part) {
  for (const auto& r : reg.refused())
    if (r.path.find(file_part) != std::string::npos) return &r;
  return nullptr;
}
}  // namespace

TEST(PluginRegistry, LoadsTheBuiltPluginsOfEveryKind) {
  const auto& reg = wbtest::plugins();
  EXPECT_TRUE(reg.refused().empty());
  EXPECT_EQ(reg.names("dataset"),
            (std::vector<std::string>{"cifar10", "cifar100", "fashion_mnist", "image_folder",
                                      "mnist", "stl10", "synthetic"}));
  EXPECT_EQ(reg.names("quantizer"),
            (std::vector<std::string>{"grey", "hf_palette", "kmeans", "uniform"}));
  EXPECT_EQ(reg.names("model"), std::vector<std::string>{"igpt"});
  EXPECT_EQ(reg.names("objective"), (std::vector<std::string>{"ar", "bert"}));
  EXPECT_EQ(reg.names("evaluator"),
            (std::vector<std::string>{"finetune", "knn", "linear_probe", "mask_ensemble"}));
  const auto& igpt = reg.get("model", "igpt");
  EXPECT_NE(igpt.schema.find("layers"), nullptr);
  EXPECT_STREQ(igpt.manifest->version, "1.4.0");
}

TEST(PluginRegistry, RefusesAPluginBuiltAgainstAnotherAbi) {
  PluginRegistry reg;
  reg.scan({kFixtures + "/bad"});
  const auto* r = refusal(reg, "wrong_abi");
  ASSERT_NE(r, nullptr);
  EXPECT_NE(r->reason.find("built against plugin SDK ABI 999, this workbench has ABI " +
                           std::to_string(WB_ABI_VERSION)),
            std::string::npos)
      << r->reason;
  EXPECT_TRUE(reg.plugins().empty());
}

TEST(PluginRegistry, RefusesALibraryWithoutTheManifestSymbol) {
  PluginRegistry reg;
  reg.scan({kFixtures + "/bad"});
  const auto* r = refusal(reg, "no_manifest");
  ASSERT_NE(r, nullptr);
  EXPECT_NE(r->reason.find("exports no 'workbench_plugin_manifest' symbol"), std::string::npos)
      << r->reason;
}

// A plugin linked against another SDK's libworkbench (its SOVERSION is the ABI) cannot
// be loaded; the refusal says so, with the loader's words, rather than "Bad file
// descriptor".
TEST(PluginRegistry, APluginOfAnotherSdkLibraryIsRefusedWithTheMissingLibraryNamed) {
  PluginRegistry reg;
  reg.scan({kFixtures + "/other_sdk"});
  ASSERT_EQ(reg.refused().size(), 1u);
  const std::string why = reg.refused()[0].reason;
  EXPECT_NE(why.find("was built against another plugin SDK"), std::string::npos) << why;
  EXPECT_NE(why.find("libworkbench.so.999"), std::string::npos) << why;
  EXPECT_NE(why.find("rebuild the plugin against this SDK"), std::string::npos) << why;
}

// Files that are no library, or a library cut short, are refused with the true reason
// before dlopen: a truncated one would otherwise kill the process with SIGBUS.
TEST(PluginRegistry, RefusesEmptyTextAndTruncatedFilesBeforeLoadingThem) {
  wbtest::TempDir dir;
  std::ofstream(dir / "libwb_text.so") << "not an ELF file";
  std::ofstream(dir / "libwb_empty.so").close();
  // A real plugin cut to half its size, as a copy that did not finish leaves it.
  std::string ar;
  for (const auto& e : std::filesystem::directory_iterator(WB_TEST_PLUGIN_DIR))
    if (e.path().filename() == "libwb_ar.so") ar = e.path().string();
  ASSERT_FALSE(ar.empty());
  const auto size = std::filesystem::file_size(ar);
  {
    std::ifstream in(ar, std::ios::binary);
    std::string bytes(size / 2, '\0');
    in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    std::ofstream(dir / "libwb_cut.so", std::ios::binary) << bytes;
  }
  PluginRegistry reg;
  reg.scan({dir.path});
  ASSERT_EQ(reg.refused().size(), 3u);
  ASSERT_NE(refusal(reg, "libwb_text.so"), nullptr);
  EXPECT_NE(refusal(reg, "libwb_text.so")->reason.find("no ELF header"), std::string::npos);
  ASSERT_NE(refusal(reg, "libwb_empty.so"), nullptr);
  EXPECT_NE(refusal(reg, "libwb_empty.so")->reason.find("is empty"), std::string::npos);
  ASSERT_NE(refusal(reg, "libwb_cut.so"), nullptr);
  EXPECT_NE(refusal(reg, "libwb_cut.so")->reason.find("is truncated"), std::string::npos)
      << refusal(reg, "libwb_cut.so")->reason;
}

TEST(PluginRegistry, RefusesTwoPluginsOfOneNameAndSaysWhichWhenUsed) {
  PluginRegistry reg;
  reg.scan({kFixtures + "/dup_a", kFixtures + "/dup_b"});
  ASSERT_EQ(reg.plugins().size(), 1u);
  ASSERT_EQ(reg.refused().size(), 1u);
  EXPECT_NE(reg.refused()[0].reason.find("second plugin named 'fixture_dup'"), std::string::npos);
  try {
    reg.get("objective", "fixture_dup");
    FAIL();
  } catch (const wb::Error& e) {
    EXPECT_NE(std::string(e.what()).find("was refused"), std::string::npos) << e.what();
  }
}

TEST(PluginRegistry, UnknownOrMiskindedNamesAreClearErrors) {
  const auto& reg = wbtest::plugins();
  try {
    reg.get("model", "igtp");
    FAIL();
  } catch (const wb::Error& e) {
    EXPECT_NE(std::string(e.what()).find("did you mean 'igpt'"), std::string::npos) << e.what();
  }
  try {
    reg.get("model", "ar");
    FAIL();
  } catch (const wb::Error& e) {
    EXPECT_NE(std::string(e.what()).find("plugin 'ar' is a objective, not a model"),
              std::string::npos);
  }
}

TEST(PluginRegistry, ObjectsKeepTheirLibraryLoaded) {
  std::shared_ptr<wb::Objective> objective;
  auto rc = wbtest::run_config(wbtest::minimal_experiment());
  wbtest::HostFixture host(rc.at("objective"));
  {
    PluginRegistry reg;
    reg.scan({WB_TEST_PLUGIN_DIR});
    objective = reg.create<wb::Objective>("ar", *host.context);
  }  // the registry, and its handles, are gone
  torch::Generator gen = torch::make_generator<at::CPUGeneratorImpl>(0);
  auto batch = objective->prepare(torch::zeros({1, 4}, torch::kLong), gen);  // code still mapped
  EXPECT_TRUE(batch.input.causal);
  EXPECT_TRUE(batch.input.shift_sos);
}
