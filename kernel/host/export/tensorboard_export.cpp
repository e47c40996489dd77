#include "export/tensorboard_export.hpp"

#include <ctime>
#include <filesystem>
#include <map>

#include <fmt/format.h>
#include <workbench/error.hpp>

#include "export/tensorboard_events.hpp"
#include "platform/files.hpp"

namespace fs = std::filesystem;

namespace wb {

namespace {

// "2026-12-07T12:22:55Z" -> seconds since the epoch (0 when it does not parse).
double epoch_seconds(const std::string& utc) {
  std::tm tm{};
  if (!strptime(utc.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm)) return 0;
  return static_cast<double>(timegm(&tm));
}

// A folder name from a run's label: no path separators or control characters.
std::string folder_name(const std::string& s) {
  std::string out;
  for (const unsigned char c : s) out += c == '/' || c == '\\' || c < 0x20 ? '_' : char(c);
  return out;
}

}  // namespace

TensorboardExport export_tensorboard(Store& store, const std::string& out_dir,
                                     const std::vector<int64_t>& runs) {
  std::vector<RunRow> chosen;
  if (runs.empty()) {
    for (const auto& r : store.runs())
      if (!r.archived) chosen.push_back(r);
  } else {
    for (const int64_t id : runs) {
      auto r = store.run(id);
      if (!r) throw Error(fmt::format("{}: no run {}", store.path(), id));
      chosen.push_back(*r);
    }
  }
  const fs::path reports = fs::absolute(store.path()).parent_path() / "reports";
  TensorboardExport summary;
  for (const auto& r : chosen) {
    const std::string id = std::to_string(r.id);
    const fs::path dir = fs::path(out_dir) / folder_name(r.experiment) /
                         folder_name(fmt::format("{} {}", r.id, r.label));
    fs::create_directories(dir);
    const double t0 = epoch_seconds(r.started_at);
    // One file per run, its name as TensorBoard's writers make them ("tfevents" is what
    // its readers look for); replaced by an export again.
    for (const auto& e : fs::directory_iterator(dir))
      if (e.path().filename().string().rfind("events.out.tfevents.", 0) == 0) fs::remove(e.path());
    const fs::path file = dir / fmt::format("events.out.tfevents.{}.workbench", int64_t(t0));
    EventWriter events(file.string(), t0);
    store.query(
        "SELECT name, step, value FROM metrics WHERE run_id = ? AND value IS NOT NULL "
        "ORDER BY name, step",
        {id}, [&](auto&, const auto& v) {
          events.scalar(v[0], std::stoll(v[1]), std::stod(v[2]), t0);
          ++summary.scalars;
        });
    // The evaluator as the run's metrics name it (finetune, finetune#2): from the run's
    // evaluation of that hash, else the plugin's name.
    std::map<std::string, std::string> label;
    for (const auto& e : store.evaluations(r.id))
      label[e.hash] = e.metrics.substr(0, e.metrics.find('/'));
    store.query(
        "SELECT evaluator, evaluator_hash, metric, IFNULL(layer, -1), IFNULL(split, ''), value "
        "FROM results WHERE run_id = ? AND value IS NOT NULL ORDER BY id",
        {id}, [&](auto&, const auto& v) {
          const std::string who = label.count(v[1]) ? label.at(v[1]) : v[0];
          events.scalar(fmt::format("results/{}/{}/{}", who, v[2], v[4]), std::stoll(v[3]),
                        std::stod(v[5]), t0);
          ++summary.scalars;
        });
    const fs::path grid = reports / r.experiment / fmt::format("samples-{}.png", r.pretrain_hash);
    if (fs::exists(grid)) {
      events.image("samples", 0, read_file(grid), t0);
      ++summary.images;
    }
    events.close();
    summary.files.push_back(file.string());
  }
  return summary;
}

}  // namespace wb
