// `workbench export tensorboard --db PATH --out DIR [RUN...]`: the store's runs as
// TensorBoard event files (export/tensorboard_export.hpp), read-only on the store.
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "commands.hpp"
#include "export/tensorboard_export.hpp"
#include "store/store.hpp"

namespace wb::cli {

namespace {
struct ExportArgs {
  std::string db = default_db();
  std::string out;
  std::vector<int64_t> runs;
};
}  // namespace

void add_export(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("export", "Write the store's runs in another tool's format");
  cmd->require_subcommand(1);
  auto args = std::make_shared<ExportArgs>();
  auto* tb = cmd->add_subcommand(
      "tensorboard", "One TensorBoard event file per run: metrics, results by layer, sample grids");
  tb->add_option("runs", args->runs, "run ids (default: every run not archived)");
  tb->add_option("--db", args->db, "results store")->capture_default_str();
  tb->add_option("--out", args->out, "folder for the event files (tensorboard --logdir)")
      ->required();
  tb->callback([args, &exit_code] {
    auto store = Store::open_for_reading(args->db);
    const auto done = export_tensorboard(*store, args->out, args->runs);
    std::cout << fmt::format("{} run(s), {} scalars, {} image(s) -> {} (tensorboard --logdir {})\n",
                             done.files.size(), done.scalars, done.images, args->out, args->out);
    exit_code = 0;
  });
}

}  // namespace wb::cli
