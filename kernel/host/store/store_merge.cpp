#include "store/store_merge.hpp"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
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

// The tables merge carries by their own rules: experiments and runs (matched, not
// copied blindly) and artifacts (their files are copied too). Every other table is
// carried by carry_table from what the schema says of it, so a new table needs no
// edit here.
const std::vector<std::string> kOwnRules = {"experiments", "runs", "artifacts"};

// Carries the rows of table `t` of the source whose run (its first column that refers
// to runs(id)) came into the target, every column that refers to a run renumbered
// through temp.run_map: rows of runs added, and for a table whose rows are unique by a
// key, the rows a run already there lacks (tags added since). A reference to a run
// that did not come along becomes NULL where the column allows it, else drops the row.
void carry_table(Store& into, const std::string& t) {
  struct Column {
    std::string name;
    bool not_null = false, rowid = false, run = false;
  };
  std::vector<Column> cols;
  int pk_columns = 0;
  into.query("SELECT name, type, \"notnull\", pk FROM pragma_table_info(?, 'src')", {t},
             [&](auto&, const auto& v) {
               cols.push_back({v[0], v[2] == "1", v[3] == "1" && v[1] == "INTEGER", false});
               pk_columns += v[3] != "0";
             });
  if (pk_columns != 1)
    for (auto& c : cols) c.rowid = false;  // a composite key: none is the rowid
  std::vector<std::string> refs;
  into.query("SELECT \"from\" FROM pragma_foreign_key_list(?, 'src') WHERE \"table\" = 'runs'", {t},
             [&](auto&, const auto& v) { refs.push_back(v[0]); });
  const Column* owner = nullptr;
  for (auto& c : cols) {
    c.run = std::find(refs.begin(), refs.end(), c.name) != refs.end();
    if (c.run && !owner) owner = &c;
  }
  if (!owner)
    throw Error(fmt::format("results merge: table {} refers to no run; merge cannot carry it", t));
  bool keyed = false;  // rows unique by a key: a run already there can take missing ones
  into.query(
      "SELECT 1 FROM pragma_index_list(?, 'src') WHERE \"unique\" AND origin IN "
      "('pk', 'u')",
      {t}, [&](auto&, auto&) { keyed = true; });
  keyed = keyed || pk_columns > 1;
  std::vector<std::string> names, values;
  std::string where = fmt::format("s.{} IN (SELECT src_id FROM temp.run_map{})", owner->name,
                                  keyed ? "" : " WHERE added");
  for (const auto& c : cols) {
    if (c.rowid) continue;  // numbered anew by the target
    names.push_back(c.name);
    values.push_back(
        c.run ? fmt::format("(SELECT dst_id FROM temp.run_map WHERE src_id = s.{})", c.name)
              : "s." + c.name);
    if (c.run && c.not_null && &c != owner)
      where += fmt::format(" AND s.{} IN (SELECT src_id FROM temp.run_map)", c.name);
  }
  into.exec(fmt::format("INSERT OR IGNORE INTO main.{0} ({1}) SELECT {2} FROM src.{0} s WHERE {3}",
                        t, fmt::join(names, ", "), fmt::join(values, ", "), where));
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
    std::set<std::string> added;                   // the source runs copied in now
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
      added.insert(r.id);
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
    // Every other table, by what the schema says of it (carry_table).
    into.exec(
        "CREATE TEMP TABLE run_map(src_id INTEGER PRIMARY KEY, dst_id INTEGER, added INTEGER)");
    for (const auto& [src_id, dst_id] : target_id)
      into.query("INSERT INTO temp.run_map VALUES (?, ?, ?)",
                 {src_id, dst_id, added.count(src_id) ? "1" : "0"}, [](auto&, auto&) {});
    std::vector<std::string> tables;
    into.query(
        "SELECT name FROM src.sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "ORDER BY name",
        {}, [&](auto&, const auto& v) { tables.push_back(v[0]); });
    for (const auto& t : tables)
      if (std::find(kOwnRules.begin(), kOwnRules.end(), t) == kOwnRules.end()) carry_table(into, t);
    into.exec("DROP TABLE temp.run_map");
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
