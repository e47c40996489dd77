#include "results_tables.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <sstream>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <workbench/error.hpp>

#include "experiment/experiment.hpp"  // config_without_seed
#include "table.hpp"

namespace wb::cli {

namespace {
std::string fmt_value(const std::string& metric, const std::string& v) {
  if (v.empty()) return "";
  double d = std::stod(v);
  if (metric.find("accuracy") != std::string::npos) return fmt::format("{:.2f}", 100 * d);
  return fmt::format("{:.4g}", d);
}

// A run's label without a swept seed ("experiment.seed=2"): the group's label.
std::string label_without_seed(const std::string& label) {
  std::istringstream in(label);
  std::string word, out;
  while (in >> word)
    if (word.rfind("experiment.seed=", 0) != 0) out += (out.empty() ? "" : " ") + word;
  return out.empty() ? "default" : out;
}

// "mean ± std" of a group's values (sample standard deviation), shown as fmt_value
// shows one value; a single value as itself.
std::string fmt_values(const std::string& metric, const std::vector<double>& v) {
  if (v.size() == 1) return fmt_value(metric, fmt::format("{:.17g}", v[0]));
  double mean = 0, sq = 0;
  for (double x : v) mean += x / v.size();
  for (double x : v) sq += (x - mean) * (x - mean);
  const double sd = std::sqrt(sq / (v.size() - 1));
  return fmt_value(metric, fmt::format("{:.17g}", mean)) + " ± " +
         fmt_value(metric, fmt::format("{:.17g}", sd));
}

struct ResultRow {
  std::string label, evaluator, metric, split, group;  // group: config_without_seed
  int64_t run, layer;
  double value;
};
}  // namespace

void print_experiment_tables(Store& store, const std::string& experiment, std::ostream& out,
                             bool by_seed) {
  // Only the latest finished run of each config counts (the store's latest_results).
  const std::string sql =
      "SELECT r.label, r.run_id, r.evaluator, r.metric, r.layer, r.split, r.value, l.config "
      "FROM latest_results r JOIN latest_runs l ON l.run_id = r.run_id WHERE r.experiment = ? "
      "ORDER BY r.run_id, r.evaluator, r.metric, r.layer, "
      "CASE r.split WHEN 'train' THEN 0 WHEN 'val' THEN 1 ELSE 2 END";
  std::vector<ResultRow> results;
  store.query(sql, {experiment}, [&](auto&, const std::vector<std::string>& v) {
    results.push_back({v[0], v[2], v[3], v[5], by_seed ? v[1] : config_without_seed(v[7]),
                       std::stoll(v[1]), v[4].empty() ? -1 : std::stoll(v[4]), std::stod(v[6])});
  });
  // Runs that differ only in their seed make one column (mean ± std over them), unless
  // asked for apart; a run without such siblings keeps its own column.
  std::map<std::string, std::set<int64_t>> group_runs;  // group -> its runs
  for (const auto& r : results) group_runs[r.group].insert(r.run);
  auto run_name = [&](const ResultRow& r) {
    const auto n = group_runs[r.group].size();
    return n == 1 ? fmt::format("{} #{}", r.label, r.run)
                  : fmt::format("{} (n={})", label_without_seed(r.label), n);
  };
  // (evaluator, metric) -> layer -> column -> values
  std::map<std::pair<std::string, std::string>,
           std::map<int64_t, std::map<std::string, std::vector<double>>>>
      layered;
  std::map<std::pair<std::string, std::string>, std::vector<std::string>> columns;
  std::map<std::vector<std::string>, std::vector<double>> scalar_values;
  std::vector<std::vector<std::string>> scalar_keys;  // in the order first seen
  for (const auto& r : results) {
    const std::string name = run_name(r), col = name + " " + r.split;
    if (r.layer < 0) {
      const std::vector<std::string> key = {name, r.evaluator, r.metric, r.split};
      if (!scalar_values.count(key)) scalar_keys.push_back(key);
      scalar_values[key].push_back(r.value);
      continue;
    }
    const auto key = std::make_pair(r.evaluator, r.metric);
    auto& cols = columns[key];
    if (std::find(cols.begin(), cols.end(), col) == cols.end()) cols.push_back(col);
    layered[key][r.layer][col].push_back(r.value);
  }
  if (layered.empty() && scalar_keys.empty()) {
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
      for (const auto& c : columns[key])
        row.push_back(cells.count(c) ? fmt_values(key.second, cells.at(c)) : "");
      rows.push_back(row);
    }
    print_table(out, header, rows);
    out << "\n";
  }
  if (!scalar_keys.empty()) {
    std::vector<std::vector<std::string>> rows;
    for (auto key : scalar_keys) {
      const auto values = scalar_values[key];
      key.push_back(fmt_values(key[2], values));
      rows.push_back(key);
    }
    print_table(out, {"run", "evaluator", "metric", "split", "value"}, rows);
    out << "\n";
  }
}

void print_run(Store& store, int64_t id, std::ostream& out) {
  auto r = store.run(id);
  if (!r) throw Error(fmt::format("{}: no run {}", store.path(), id));
  out << fmt::format("run {}  experiment {}  variant {}\n", r->id, r->experiment, r->label);
  out << fmt::format("status   {}{}{}\n", r->status, r->error.empty() ? "" : ": " + r->error,
                     r->archived ? " (archived)" : "");
  if (!r->tags.empty()) out << fmt::format("tags     {}\n", fmt::join(r->tags, " "));
  if (!r->note.empty()) out << fmt::format("note     {}\n", r->note);
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
  // Each evaluation with where its numbers came from: computed by this run, or copied
  // from the run that computed them (same checkpoint, config and code).
  std::vector<std::vector<std::string>> evaluations;
  if (store.schema_version() >= 4)
    for (const auto& e : store.evaluations(id))
      evaluations.push_back({e.name, e.hash, fmt::format("{:.1f} s", e.seconds),
                             e.computed_by == id ? "computed here"
                             : e.computed_by == 0
                                 ? "copied (its run has been deleted)"
                                 : fmt::format("copied from run {}", e.computed_by)});
  if (!evaluations.empty()) {
    out << "\n";
    print_table(out, {"evaluation", "hash", "took", "results"}, evaluations);
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
