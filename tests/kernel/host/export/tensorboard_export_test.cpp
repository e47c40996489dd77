// `workbench export tensorboard`, read back by TensorBoard's own reader
// (EventAccumulator, `tensorboard` from PyPI in the test environment): every value it
// returns equals the store's (as float32, TensorBoard's scalar type), each metric at
// its step, each result at its layer, and the sample grid as an image of its size.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "export/tensorboard_events.hpp"
#include "export/tensorboard_export.hpp"
#include "run/sampler.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;

TEST(TensorboardEvents, Crc32cIsCastagnolis) {
  // The check value of CRC-32C (RFC 3720's polynomial) over "123456789".
  EXPECT_EQ(wb::crc32c("123456789", 9), 0xE3069283u);
  EXPECT_EQ(wb::crc32c("", 0), 0u);
}

TEST(TensorboardExport, TensorBoardsReaderReadsBackTheStoresValues) {
  const std::string python = WB_REFERENCE_PYTHON;
  if (!fs::exists(python) ||
      std::system((python + " -c 'import tensorboard' 2>/dev/null").c_str()) != 0)
    FAIL() << "no reference Python with tensorboard at " << python
           << " (bash tools/setup.sh --tests installs it)";
  wbtest::TempDir dir;
  {
    wb::Store s(dir / "results.db");
    const int64_t e = s.experiment("tb", "tb.toml");
    const int64_t run = s.begin_run(e, "ar model.layers=2", "c", "p", "", 0, wb::Provenance{});
    for (int64_t step = 1; step <= 3; ++step) s.metric(run, step * 10, "train/loss", 3.0 / step);
    s.metric(run, 1, "finetune#2/val_accuracy", 0.625);
    for (int64_t layer = 0; layer < 3; ++layer)
      for (const std::string split : {"val", "test"})
        s.result(run, "linear_probe", "lp", "accuracy", layer, split, 0.5 + 0.1 * layer);
    s.result(run, "linear_probe", "lp", "best_layer", -1, "val", 2);
    s.result(run, "finetune", "ft2", "accuracy", 2, "test", 0.8125);
    s.evaluation({run, "finetune", "ft2", "finetune#2/", 1, run});
    s.end_run(run, "finished");
    const int64_t archived = s.begin_run(e, "old", "c0", "p0", "", 0, wb::Provenance{});
    s.end_run(archived, "finished");
    s.archive(archived, true);
  }
  // The sample grid `workbench sample` would have written for the run's checkpoint.
  fs::create_directories(dir / "reports/tb");
  wb::write_png_grid(dir / "reports/tb/samples-p.png",
                     {torch::full({2, 4, 4, 1}, 128, torch::kUInt8)}, 1);
  std::string out;
  ASSERT_EQ(
      wbtest::run_cli(
          fmt::format("export tensorboard --db {} --out {}", dir / "results.db", dir / "tb"), &out),
      0)
      << out;
  EXPECT_NE(out.find("1 run(s), 12 scalars, 1 image(s)"), std::string::npos) << out;
  // The archived run is left out; one folder per run, under its experiment.
  const fs::path run_dir = dir / "tb/tb/1 ar model.layers=2";
  ASSERT_TRUE(fs::exists(run_dir)) << out;
  EXPECT_FALSE(fs::exists(dir / "tb/tb/2 old"));

  const std::string script = dir / "read.py";
  std::ofstream(script) << R"(import sys
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
acc = EventAccumulator(sys.argv[1], size_guidance={"scalars": 0, "images": 0})
acc.Reload()
for tag in sorted(acc.Tags()["scalars"]):
    for e in acc.Scalars(tag):
        print("scalar", tag, e.step, repr(e.value))
for tag in acc.Tags()["images"]:
    for e in acc.Images(tag):
        print("image", tag, e.step, e.width, e.height, len(e.encoded_image_string))
)";
  const std::string listing = dir / "read.txt";
  ASSERT_EQ(
      std::system(
          fmt::format("{} {} '{}' > {} 2>&1", python, script, run_dir.string(), listing).c_str()),
      0)
      << wbtest::read_text(listing);
  std::map<std::string, double> scalars;
  std::string images;
  std::istringstream lines(wbtest::read_text(listing));
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::string kind, tag, step;
    words >> kind >> tag >> step;
    if (kind == "scalar") {
      double v = 0;
      words >> v;
      scalars[tag + "@" + step] = v;
    } else if (kind == "image") {
      images += line + "\n";
    }
  }
  EXPECT_EQ(scalars.size(), 12u) << wbtest::read_text(listing);
  // float32, as TensorBoard keeps scalars.
  auto f32 = [](double x) { return static_cast<double>(static_cast<float>(x)); };
  EXPECT_EQ(scalars["train/loss@10"], f32(3.0));
  EXPECT_EQ(scalars["train/loss@20"], f32(1.5));
  EXPECT_EQ(scalars["train/loss@30"], f32(1.0));
  EXPECT_EQ(scalars["finetune#2/val_accuracy@1"], f32(0.625));
  for (int layer = 0; layer < 3; ++layer)
    for (const std::string split : {"val", "test"})
      EXPECT_EQ(scalars[fmt::format("results/linear_probe/accuracy/{}@{}", split, layer)],
                f32(0.5 + 0.1 * layer))
          << split << " layer " << layer;
  EXPECT_EQ(scalars["results/linear_probe/best_layer/val@-1"], 2.0);
  // The second finetune, named as the run's metrics name it.
  EXPECT_EQ(scalars["results/finetune#2/accuracy/test@2"], f32(0.8125));
  // Two 4x4 images side by side with a 1-pixel gap: 9 x 4.
  EXPECT_NE(images.find("image samples 0 9 4 "), std::string::npos) << images;
}
