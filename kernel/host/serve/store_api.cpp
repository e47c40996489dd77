#include "serve/store_api.hpp"

#include <map>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <toml++/toml.h>
#include <workbench/error.hpp>

#include "experiment/experiment.hpp"  // config_without_seed
#include "platform/hash.hpp"

namespace wb {

namespace {

using nlohmann::json;

std::string ids_list(const std::vector<int64_t>& runs) {
  std::string out;
  for (const int64_t r : runs) out += (out.empty() ? "" : ",") + std::to_string(r);
  return out.empty() ? "NULL" : out;  // numbers only: safe inside IN (...)
}

// "section.key" (and "evaluators.N.key") -> the value as TOML writes it.
void flatten(const toml::table& t, const std::string& prefix,
             std::map<std::string, std::string>& out) {
  for (const auto& [k, v] : t) {
    const std::string key =
        prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
    if (const auto* sub = v.as_table()) {
      flatten(*sub, key, out);
    } else if (const auto* arr = v.as_array(); arr && !arr->empty() && arr->front().is_table()) {
      for (size_t i = 0; i < arr->size(); ++i)
        flatten(*arr->get(i)->as_table(), key + "." + std::to_string(i), out);
    } else {
      std::ostringstream s;
      v.visit([&](const auto& node) { s << node; });
      out[key] = s.str();
    }
  }
}

}  // namespace

int64_t run_id_of(const std::string& text) {
  size_t used = 0;
  int64_t id = 0;
  try {
    id = std::stoll(text, &used);
  } catch (const std::exception&) {
  }
  if (used == 0 || used != text.size() || id < 1)
    throw Error(fmt::format("'{}' is not a run id", text));
  return id;
}

// The fields of a run that /api/runs and /api/run/ID share, from the store's RunRow.
json run_fields(const RunRow& row) {
  return {{"id", row.id},
          {"experiment", row.experiment},
          {"label", row.label},
          {"status", row.status},
          {"seed", row.seed},
          {"started_at", row.started_at},
          {"ended_at", row.ended_at},
          {"commit", row.git_commit},
          {"device", row.device},
          {"host", row.host},
          {"note", row.note},
          {"tags", row.tags},
          {"archived", row.archived}};
}

json runs_json(Store& store, bool all) {
  json out = json::array();
  // Every run's time (so far, for a running one) and last training step, in one query.
  std::map<int64_t, std::pair<double, int64_t>> timing;
  store.query(
      "SELECT id, IFNULL((julianday(IFNULL(ended_at, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))) - "
      "julianday(started_at)) * 86400, 0), IFNULL((SELECT MAX(step) FROM metrics m WHERE "
      "m.run_id = r.id AND m.name = 'train/loss'), 0) FROM runs r",
      {}, [&](auto&, const auto& v) {
        timing[std::stoll(v[0])] = {std::stod(v[1]), std::stoll(v[2])};
      });
  // Headline results: each run's first three whole-model test rows
  // (best_layer_accuracy and the like), for every run in one query.
  std::map<int64_t, json> headlines;
  store.query(
      "SELECT run_id, evaluator, metric, value FROM (SELECT run_id, evaluator, metric, value, "
      "ROW_NUMBER() OVER (PARTITION BY run_id ORDER BY id) AS k FROM results WHERE layer = -1 "
      "AND split = 'test' AND value IS NOT NULL) WHERE k <= 3 ORDER BY run_id, k",
      {}, [&](auto&, const auto& v) {
        auto& h = headlines.try_emplace(std::stoll(v[0]), json::array()).first->second;
        h.push_back({{"evaluator", v[1]}, {"metric", v[2]}, {"value", std::stod(v[3])}});
      });
  const auto rows = store.runs();
  for (auto row = rows.rbegin(); row != rows.rend(); ++row) {  // newest first
    if (row->archived && !all) continue;
    json r = run_fields(*row);
    r["config_hash"] = row->config_hash;
    r["group"] = row->experiment + "/" + short_hash(config_without_seed(row->config));
    const auto [seconds, step] = timing[row->id];
    r["seconds"] = seconds;
    r["progress"] = {{"step", step}, {"steps", 0}};
    try {
      r["progress"]["steps"] = toml::parse(row->config)["training"]["steps"].value_or(int64_t{0});
    } catch (const toml::parse_error&) {
    }
    const auto headline = headlines.find(row->id);
    r["headline"] = headline == headlines.end() ? json::array() : headline->second;
    out.push_back(r);
  }
  return out;
}

json run_json(Store& store, int64_t id) {
  const auto row = store.run(id);
  if (!row) return nullptr;
  json r = run_fields(*row);
  r["error"] = row->error;
  r["config"] = row->config;
  r["plugins"] = json::array();
  r["evaluations"] = json::array();
  store.query("SELECT kind, name, version, sha256 FROM run_plugins WHERE run_id = ? ORDER BY kind",
              {std::to_string(id)}, [&](auto&, const auto& v) {
                r["plugins"].push_back(
                    {{"kind", v[0]}, {"name", v[1]}, {"version", v[2]}, {"sha256", v[3]}});
              });
  for (const auto& e : store.evaluations(id))
    r["evaluations"].push_back({{"name", e.name},
                                {"hash", e.hash},
                                {"seconds", e.seconds},
                                {"computed_by", e.computed_by}});
  return r;
}

json metric_names_json(Store& store, const std::vector<int64_t>& runs) {
  json out = json::array();
  store.query(
      "SELECT DISTINCT name FROM metrics WHERE run_id IN (" + ids_list(runs) + ") ORDER BY name",
      {}, [&](auto&, const auto& v) { out.push_back(v[0]); });
  return out;
}

json curve_json(Store& store, const std::string& name, const std::vector<int64_t>& runs) {
  json out = json::array();
  for (const int64_t id : runs) {
    json points = json::array();
    store.query(
        "SELECT step, value FROM metrics WHERE run_id = ? AND name = ? AND value IS NOT "
        "NULL ORDER BY step",
        {std::to_string(id), name}, [&](auto&, const auto& v) {
          points.push_back({std::stoll(v[0]), std::stod(v[1])});
        });
    out.push_back({{"run", id}, {"points", points}});
  }
  return {{"name", name}, {"runs", out}};
}

json results_json(Store& store, const std::vector<int64_t>& runs) {
  json out = json::array();
  store.query(
      "SELECT run_id, evaluator, evaluator_hash, metric, IFNULL(layer, -1), IFNULL(split, ''), "
      "value FROM results WHERE value IS NOT NULL AND run_id IN (" +
          ids_list(runs) + ") ORDER BY run_id, id",
      {}, [&](auto&, const auto& v) {
        out.push_back({{"run", std::stoll(v[0])},
                       {"evaluator", v[1]},
                       {"hash", v[2]},
                       {"metric", v[3]},
                       {"layer", std::stoll(v[4])},
                       {"split", v[5]},
                       {"value", std::stod(v[6])}});
      });
  return out;
}

json config_diff_json(Store& store, const std::vector<int64_t>& runs) {
  std::map<int64_t, std::map<std::string, std::string>> values;
  std::set<std::string> keys;
  for (const int64_t id : runs) {
    const auto row = store.run(id);
    if (!row) throw Error(fmt::format("no run {}", id));
    try {
      flatten(toml::parse(row->config), "", values[id]);
    } catch (const toml::parse_error& e) {
      throw Error(fmt::format("run {}: its config does not parse: {}", id, e.description()));
    }
    for (const auto& [k, _] : values[id]) keys.insert(k);
  }
  json out = json::array();
  for (const auto& k : keys) {
    std::set<std::string> seen;
    json per_run = json::object();
    for (const int64_t id : runs) {
      const auto it = values[id].find(k);
      const std::string v = it == values[id].end() ? "" : it->second;
      seen.insert(v);
      per_run[std::to_string(id)] = v;
    }
    if (seen.size() > 1) out.push_back({{"key", k}, {"values", per_run}});
  }
  return out;
}

}  // namespace wb
