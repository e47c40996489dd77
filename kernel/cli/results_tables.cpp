#include "results_tables.hpp"

#include <map>
#include <set>

#include <fmt/format.h>

#include <workbench/error.hpp>

#include "table.hpp"

namespace wb::cli {

namespace {
std::string fmt_value(const std::string& metric, const std::string& v) {
  if (v.empty()) return "";
  double d = std::stod(v);
  if (metric.find("accuracy") != std::string::npos) return fmt::format("{:.2f}", 100 * d);
  return fmt::format("{:.4g}", d);
}
}  // namespace

void print_experiment_tables(Store& store, const std::string& experiment, std::ostream& out) {
  // Only the latest finished run of each config counts (the store's latest_results).
  const std::string sql =
      "SELECT label, run_id, evaluator, metric, layer, split, value FROM latest_results "
      "WHERE experiment = ? ORDER BY run_id, evaluator, metric, layer, "
      "CASE split WHEN 'train' THEN 0 WHEN 'val' THEN 1 ELSE 2 END";
  // (evaluator, metric) -> layer -> column -> value
  std::map<std::pair<std::string, std::string>,
           std::map<int64_t, std::map<std::string, std::string>>>
      layered;
  std::map<std::pair<std::string, std::string>, std::vector<std::string>> columns;
  std::vector<std::vector<std::string>> scalars;
  store.query(sql, {experiment}, [&](auto&, const std::vector<std::string>& v) {
    const std::string col = fmt::format("{} #{} {}", v[0], v[1], v[5]);
    const auto key = std::make_pair(v[2], v[3]);
    const int64_t layer = v[4].empty() ? -1 : std::stoll(v[4]);
    if (layer < 0) {
      scalars.push_back(
          {fmt::format("{} #{}", v[0], v[1]), v[2], v[3], v[5], fmt_value(v[3], v[6])});
      return;
    }
    auto& cols = columns[key];
    if (std::find(cols.begin(), cols.end(), col) == cols.end()) cols.push_back(col);
    layered[key][layer][col] = fmt_value(v[3], v[6]);
  });
  if (layered.empty() && scalars.empty()) {
    out << fmt::format("no finished results for experiment '{}'\n", experiment);
    return;
  }
  for (const auto& [key, by_layer] : layered) {
    out << fmt::format("{} {} by layer{}:\n", key.first, key.second,
                       key.second.find("accuracy") != std::string::npos ? " (%)" : "");
    std::vector<std::string> header = {"layer"};
    for (const auto& c : columns[key]) header.push_back(c);
    std::vector<std::vector<std::string>> rows;
    for (const auto& [layer, cells] : by_layer) {
      std::vector<std::string> row = {std::to_string(layer)};
      for (const auto& c : columns[key]) row.push_back(cells.count(c) ? cells.at(c) : "");
      rows.push_back(row);
    }
    print_table(out, header, rows);
    out << "\n";
  }
  if (!scalars.empty()) {
    print_table(out, {"run", "evaluator", "metric", "split", "value"}, scalars);
    out << "\n";
  }
}

void print_run(Store& store, int64_t id, std::ostream& out) {
  auto r = store.run(id);
  if (!r) throw Error(fmt::format("{}: no run {}", store.path(), id));
  out << fmt::format("run {}  experiment {}  variant {}\n", r->id, r->experiment, r->label);
  out << fmt::format("status   {}{}\n", r->status, r->error.empty() ? "" : ": " + r->error);
  out << fmt::format("config   {} (pretraining {})  seed {}\n", r->config_hash, r->pretrain_hash,
                     r->seed);
  out << fmt::format("time     {} .. {}\n", r->started_at, r->ended_at);
  store.query(
      "SELECT git_commit, git_dirty, workbench_version, torch_version, device, threads, host, "
      "command_line FROM runs WHERE id = ?",
      {std::to_string(id)}, [&](auto&, const auto& v) {
        out << fmt::format("code     {}{}  workbench {}  libtorch {}\n", v[0],
                           v[1] == "1" ? " (dirty)" : "", v[2], v[3]);
        out << fmt::format("machine  {} on {} with {} threads\n", v[4], v[6], v[5]);
        out << fmt::format("command  {}\n", v[7]);
      });
  // run_attempts and run_plugins came with schema 2; a read-only store may be older.
  const bool has_v2 = store.schema_version() >= 2;
  if (has_v2)
    store.query(
        "SELECT r.id, r.status, r.started_at, COALESCE(r.git_commit, ''), COALESCE(r.host, ''), "
        "COALESCE(r.error, '') FROM run_attempts a JOIN runs r ON r.id = a.attempt_id WHERE "
        "a.run_id = ? ORDER BY r.id",
        {std::to_string(id)}, [&](auto&, const auto& v) {
          out << fmt::format("resumes  run {} ({}, started {}, commit {} on {}{})\n", v[0], v[1],
                             v[2], v[3].substr(0, 10), v[4], v[5].empty() ? "" : ": " + v[5]);
        });
  std::vector<std::vector<std::string>> plugins;
  if (has_v2)
    store.query(
        "SELECT kind, name, version, sha256, path FROM run_plugins WHERE run_id = ? "
        "ORDER BY instr('dataset quantizer model objective evaluator', kind), name",
        {std::to_string(id)}, [&](auto&, const auto& v) { plugins.push_back(v); });
  if (!plugins.empty()) {
    out << "\n";
    print_table(out, {"plugin", "name", "version", "sha256", "library"}, plugins);
  }
  out << "\n" << r->config << "\n";
  std::vector<std::vector<std::string>> rows;
  store.query(
      "SELECT name, points, first, first_step, last, last_step, min, min_step, max, max_step "
      "FROM metric_summaries WHERE run_id = ? ORDER BY name",
      {std::to_string(id)}, [&](auto&, const auto& v) {
        rows.push_back({v[0], v[1], fmt::format("{} @{}", fmt_value(v[0], v[2]), v[3]),
                        fmt::format("{} @{}", fmt_value(v[0], v[4]), v[5]),
                        fmt::format("{} @{}", fmt_value(v[0], v[6]), v[7]),
                        fmt::format("{} @{}", fmt_value(v[0], v[8]), v[9])});
      });
  if (!rows.empty()) {
    print_table(out, {"metric", "points", "first", "last", "min", "max"}, rows);
    out << "\n";
  }
  rows.clear();
  store.query(
      "SELECT evaluator, metric, layer, split, value FROM results WHERE run_id = ? "
      "ORDER BY evaluator, metric, layer, split",
      {std::to_string(id)}, [&](auto&, const auto& v) {
        rows.push_back({v[0], v[1], v[2], v[3], fmt_value(v[1], v[4])});
      });
  if (!rows.empty()) print_table(out, {"evaluator", "metric", "layer", "split", "value"}, rows);
}

}  // namespace wb::cli
