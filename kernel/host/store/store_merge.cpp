#include "store/store_merge.hpp"

#include <algorithm>
#include <filesystem>
#include <map>
#include <vector>

#include <fmt/format.h>
#include <workbench/error.hpp>

#include "platform/hash.hpp"

namespace fs = std::filesystem;

namespace wb {

namespace {

// The columns of `table` in the target, but those given: what INSERT ... SELECT copies.
std::string columns_except(Store& s, const std::string& table,
                           const std::vector<std::string>& skip) {
  std::string cols;
  s.query("SELECT name FROM pragma_table_info(?)", {table}, [&](auto&, const auto& v) {
    if (std::find(skip.begin(), skip.end(), v[0]) != skip.end()) return;
    cols += (cols.empty() ? "" : ", ") + v[0];
  });
  return cols;
}

std::string one_value(Store& s, const std::string& sql, const std::vector<std::string>& args) {
  std::string out;
  s.query(sql, args, [&](auto&, const auto& v) { out = v[0]; });
  return out;
}

// The artifact at `path` (recorded under `from_root`) as a file under `to_root`.
std::string carried_path(const std::string& path, const fs::path& from_root,
                         const fs::path& to_root, const std::string& sha256,
                         MergeSummary& summary) {
  const fs::path p(path);
  const fs::path rel = p.lexically_relative(from_root);
  if (rel.empty() || *rel.begin() == "..") return path;  // not under the source's folder
  const fs::path target = to_root / rel;
  if (!fs::exists(p)) {
    ++summary.files_missing;
    return path;
  }
  if (!fs::exists(target)) {
    fs::create_directories(target.parent_path());
    fs::copy_file(p, target);
    ++summary.files_copied;
  }
  if (sha256_file(target.string()) != sha256)
    throw Error(fmt::format("{}: checksum differs from {} recorded for {}", target.string(),
                            sha256.substr(0, 12), path));
  return target.string();
}

}  // namespace

MergeSummary merge_store(Store& into, const std::string& from, std::string artifacts_root) {
  if (!fs::exists(from)) throw Error(fmt::format("{}: no results store there", from));
  // The same file under another name (a symbolic link, a hard link, ./x and x): merging
  // a store into itself would wait on its own lock.
  std::error_code ec;
  if (fs::equivalent(from, into.path(), ec))
    throw Error(fmt::format("{}: is the store being merged into ({}); nothing to merge", from,
                            into.path()));
  // Read only: the source is left exactly as it was, and a file given by mistake (not
  // a results store) is refused before anything is written anywhere.
  const int version = Store::file_schema_version(from);
  if (version == 0)
    throw Error(fmt::format("{}: not a workbench results store (no schema version)", from));
  if (version != Store::kSchemaVersion)
    throw Error(fmt::format(
        "{}: results store has schema version {}, this workbench's is {}; {}", from, version,
        Store::kSchemaVersion,
        version > Store::kSchemaVersion
            ? "use a newer workbench"
            : "bring it up to date first with `workbench results upgrade --db " + from + "`"));
  // A damaged source is named as such before its pages are read in a write
  // transaction of the target (where SQLite's error would name the target).
  {
    auto source = Store::open_read_only(from);
    std::string verdict;
    try {
      source->query("PRAGMA quick_check", {}, [&](auto&, const auto& v) {
        if (verdict.empty()) verdict = v[0];
      });
    } catch (const Error& e) {
      verdict = e.what();
    }
    if (verdict != "ok")
      throw Error(fmt::format("{}: the store to merge in is damaged ({}); {} is unchanged", from,
                              verdict, into.path()));
  }
  if (artifacts_root.empty())
    artifacts_root = (fs::absolute(into.path()).parent_path() / "artifacts").string();
  const fs::path from_root = fs::absolute(from).parent_path() / "artifacts";

  MergeSummary summary;
  const std::string run_cols = columns_except(into, "runs", {"id", "experiment_id"});
  into.query("ATTACH DATABASE ? AS src", {from}, [](auto&, auto&) {});
  try {
    into.exec("BEGIN IMMEDIATE");
    struct SourceRun {
      std::string id, experiment, file, config_hash, started_at, host, pid;
    };
    std::vector<SourceRun> runs;
    into.query(
        "SELECT r.id, e.name, IFNULL(e.file, ''), r.config_hash, r.started_at, "
        "IFNULL(r.host, ''), IFNULL(r.pid, 0) FROM src.runs r JOIN src.experiments e ON "
        "e.id = r.experiment_id ORDER BY r.id",
        {}, [&](auto&, const auto& v) {
          runs.push_back({v[0], v[1], v[2], v[3], v[4], v[5], v[6]});
        });
    std::map<std::string, std::string> target_id;  // a source run's id in the target
    for (const auto& r : runs) {
      const std::string present =
          one_value(into,
                    "SELECT id FROM main.runs WHERE config_hash = ? AND started_at = ? AND "
                    "IFNULL(host, '') = ? AND IFNULL(pid, 0) = CAST(? AS INTEGER)",
                    {r.config_hash, r.started_at, r.host, r.pid});
      if (!present.empty()) {
        target_id[r.id] = present;
        ++summary.runs_present;
        continue;
      }
      const int64_t exp = into.experiment(r.experiment, r.file);
      into.query(fmt::format("INSERT INTO main.runs (experiment_id, {0}) SELECT ?, {0} FROM "
                             "src.runs WHERE id = ?",
                             run_cols),
                 {std::to_string(exp), r.id}, [](auto&, auto&) {});
      const std::string id = one_value(into, "SELECT last_insert_rowid()", {});
      target_id[r.id] = id;
      into.query(
          "INSERT INTO main.metrics (run_id, name, step, value) SELECT ?, name, step, value "
          "FROM src.metrics WHERE run_id = ?",
          {id, r.id}, [](auto&, auto&) {});
      into.query(
          "INSERT INTO main.run_plugins (run_id, kind, name, version, sha256, path) SELECT ?, "
          "kind, name, version, sha256, path FROM src.run_plugins WHERE run_id = ?",
          {id, r.id}, [](auto&, auto&) {});
      into.query(
          "INSERT INTO main.results (run_id, evaluator, evaluator_hash, metric, layer, split, "
          "value) SELECT ?, evaluator, evaluator_hash, metric, layer, split, value FROM "
          "src.results WHERE run_id = ?",
          {id, r.id}, [](auto&, auto&) {});
      std::vector<std::vector<std::string>> artifacts;
      into.query(
          "SELECT kind, key, path, sha256, bytes, created_at FROM src.artifacts WHERE run_id = ? "
          "ORDER BY id",
          {r.id}, [&](auto&, const auto& v) { artifacts.push_back(v); });
      for (auto a : artifacts) {
        a[2] = carried_path(a[2], from_root, artifacts_root, a[3], summary);
        into.query(
            "INSERT INTO main.artifacts (run_id, kind, key, path, sha256, bytes, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            {id, a[0], a[1], a[2], a[3], a[4], a[5]}, [](auto&, auto&) {});
      }
      ++summary.runs_added;
    }
    // A resumed run's earlier attempts (`results show` names them): the links, between
    // the runs' ids in the target.
    std::vector<std::pair<std::string, std::string>> attempts;
    into.query("SELECT run_id, attempt_id FROM src.run_attempts", {}, [&](auto&, const auto& v) {
      attempts.push_back({v[0], v[1]});
    });
    for (const auto& [run, attempt] : attempts)
      if (target_id.count(run) && target_id.count(attempt))
        into.query("INSERT OR IGNORE INTO main.run_attempts (run_id, attempt_id) VALUES (?, ?)",
                   {target_id.at(run), target_id.at(attempt)}, [](auto&, auto&) {});
    // Evaluations of the runs added, with the run that computed each mapped to its id
    // in the target (none when it was not carried).
    std::vector<std::vector<std::string>> evaluations;
    into.query(
        "SELECT run_id, name, hash, metrics, seconds, IFNULL(computed_by, 0) FROM "
        "src.run_evaluations ORDER BY rowid",
        {}, [&](auto&, const auto& v) { evaluations.push_back(v); });
    for (const auto& e : evaluations)
      if (target_id.count(e[0]))
        into.query(
            "INSERT OR IGNORE INTO main.run_evaluations (run_id, name, hash, metrics, seconds, "
            "computed_by) VALUES (?, ?, ?, ?, ?, NULLIF(?, '0'))",
            {target_id.at(e[0]), e[1], e[2], e[3], e[4],
             target_id.count(e[5]) ? target_id.at(e[5]) : "0"},
            [](auto&, auto&) {});
    // Tags join those a run already has in the target (its note and archive flag came
    // with its row, or stay the target's where it was there already).
    std::vector<std::pair<std::string, std::string>> tags;
    into.query("SELECT run_id, tag FROM src.run_tags", {}, [&](auto&, const auto& v) {
      tags.push_back({v[0], v[1]});
    });
    for (const auto& [run, tag] : tags)
      if (target_id.count(run))
        into.query("INSERT OR IGNORE INTO main.run_tags (run_id, tag) VALUES (?, ?)",
                   {target_id.at(run), tag}, [](auto&, auto&) {});
    into.exec("COMMIT");
  } catch (...) {
    // Neither may hide the first error (a ROLLBACK after a BEGIN that failed has no
    // transaction to roll back).
    try {
      into.exec("ROLLBACK");
    } catch (const Error&) {
    }
    try {
      into.exec("DETACH DATABASE src");
    } catch (const Error&) {
    }
    throw;
  }
  into.exec("DETACH DATABASE src");
  return summary;
}

}  // namespace wb
