#include "store/store.hpp"

#include <unistd.h>

#include <cctype>
#include <chrono>
#include <filesystem>
#include <memory>
#include <thread>

#include <fmt/format.h>
#include <sqlite3.h>

#include <workbench/error.hpp>

#include "store/sqlite_statement.hpp"

namespace wb {

using namespace sqlite;

std::string utc_now() {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Store::Store(const std::string& path) : path_(path) {
  auto parent = std::filesystem::path(path).parent_path();
  std::error_code ec;
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw Error(fmt::format("{}: cannot open results store: {}", path, msg));
  }
  // Concurrent writers (a sweep in two terminals) wait for each other up to a minute.
  sqlite3_busy_timeout(db_, 60000);
  try {
    // Switching a new file to WAL takes an exclusive lock for which SQLite does not
    // always call the busy handler (while another connection creates or recovers the
    // file it can answer SQLITE_BUSY at once), so this one statement retries itself for
    // as long as the busy timeout. Seen once as a failed child of
    // Store.TwoProcessesWriteOneStoreAtOnce under ctest -j 2.
    for (auto start = std::chrono::steady_clock::now();;) {
      const int rc = sqlite3_exec(db_, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr);
      if (rc == SQLITE_OK) break;
      if ((rc != SQLITE_BUSY && rc != SQLITE_LOCKED) ||
          std::chrono::steady_clock::now() - start > std::chrono::seconds(60))
        throw Error(fmt::format("{}: cannot switch to WAL: {}", path_, sqlite3_errmsg(db_)));
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    exec("PRAGMA foreign_keys=ON");
    exec("PRAGMA synchronous=NORMAL");
    migrate();
  } catch (...) {
    sqlite3_close(db_);
    db_ = nullptr;
    throw;
  }
}

namespace {
// A read-only connection, or null with `error` set. mode=ro reads a WAL store whose
// -shm file exists or can be made; immutable=1 reads one in a folder nobody may write
// (so nobody writes the store meanwhile either).
sqlite3* open_read_only_connection(const std::string& path, std::string* error) {
  for (const char* mode : {"mode=ro", "immutable=1"}) {
    sqlite3* db = nullptr;
    const std::string uri = fmt::format("file:{}?{}", path, mode);
    if (sqlite3_open_v2(uri.c_str(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, nullptr) ==
            SQLITE_OK &&
        sqlite3_exec(db, "SELECT COUNT(*) FROM sqlite_master", nullptr, nullptr, nullptr) ==
            SQLITE_OK)
      return db;
    *error = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
  }
  return nullptr;
}
}  // namespace

Store::Store(const std::string& path, ReadOnly) : path_(path), read_only_(true) {
  std::string error;
  db_ = open_read_only_connection(path, &error);
  if (!db_) throw Error(fmt::format("{}: cannot read as a results store: {}", path, error));
  int v = -1;
  try {
    v = schema_version();
  } catch (const Error&) {
  }
  if (v != kSchemaVersion) {
    sqlite3_close(db_);
    db_ = nullptr;
    if (v <= 0) throw Error(fmt::format("{}: not a workbench results store (read-only)", path));
    throw Error(v > kSchemaVersion
                    ? fmt::format("{}: results store has schema version {}, newer than this "
                                  "workbench's {}; use a newer workbench",
                                  path, v, kSchemaVersion)
                    : fmt::format("{}: results store has schema version {}, older than this "
                                  "workbench's {}; `workbench results upgrade --db {}` brings it "
                                  "up to date (reading commands never write a store)",
                                  path, v, kSchemaVersion, path));
  }
}

std::unique_ptr<Store> Store::open_for_reading(const std::string& path) {
  // Reading never creates a store (Store(path) would, empty), nor writes one: not
  // even a migration or the WAL switch.
  if (!std::filesystem::exists(path))
    throw Error(
        fmt::format("{}: no results store here (run an experiment first, or pass --db)", path));
  return open_read_only(path);
}

std::unique_ptr<Store> Store::open_read_only(const std::string& path) {
  return std::unique_ptr<Store>(new Store(path, ReadOnly{}));
}

Store::~Store() {
  if (db_) sqlite3_close(db_);
}

void Store::exec(const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    throw Error(fmt::format("{}: {}", path_, msg));
  }
}

sqlite3_stmt* Store::prepare(const std::string& sql) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr) != SQLITE_OK)
    throw Error(fmt::format("{}: {} (in: {})", path_, sqlite3_errmsg(db_), sql));
  return s;
}

int Store::file_schema_version(const std::string& path) {
  std::string msg;
  sqlite3* db = open_read_only_connection(path, &msg);
  int version = -1;
  sqlite3_stmt* stmt = nullptr;
  if (db && sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt, nullptr) == SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW)
    version = sqlite3_column_int(stmt, 0);
  if (db && version < 0) msg = sqlite3_errmsg(db);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  if (version < 0) throw Error(fmt::format("{}: cannot read as a results store: {}", path, msg));
  return version;
}

namespace {
// Steps `s` to its end, calling `row` with the column names and text values of each
// row; false when SQLite stopped on an error.
bool each_row(sqlite3_stmt* s, const std::function<void(const std::vector<std::string>&,
                                                        const std::vector<std::string>&)>& row) {
  std::vector<std::string> cols;
  for (int i = 0; i < sqlite3_column_count(s); ++i) cols.push_back(sqlite3_column_name(s, i));
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    std::vector<std::string> values;
    for (int i = 0; i < static_cast<int>(cols.size()); ++i) values.push_back(column_text(s, i));
    row(cols, values);
  }
  return rc == SQLITE_DONE;
}
}  // namespace

void Store::query_read_only(const std::string& sql,
                            const std::function<void(const std::vector<std::string>&,
                                                     const std::vector<std::string>&)>& row) {
  sqlite3_stmt* raw = nullptr;
  const char* tail = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &raw, &tail) != SQLITE_OK)
    throw Error(sqlite3_errmsg(db_));
  Stmt s(raw);
  if (!raw) throw Error("no statement");
  for (; tail && *tail; ++tail)
    if (!std::isspace(static_cast<unsigned char>(*tail)) && *tail != ';')
      throw Error("more than one statement (a check is one SELECT)");
  // Read-only statements alone: sqlite3_stmt_readonly says whether one writes the
  // database file; ATTACH, DETACH and transaction control pass that test but are
  // connection state no check needs, so anything but a plain query is refused.
  const std::string head = [&] {
    std::string w;
    for (const char* p = sql.c_str(); *p && w.size() < 8; ++p)
      if (std::isalpha(static_cast<unsigned char>(*p)))
        w += static_cast<char>(std::toupper(static_cast<unsigned char>(*p)));
      else if (!w.empty())
        break;
    return w;
  }();
  if (!sqlite3_stmt_readonly(raw) || (head != "SELECT" && head != "WITH" && head != "VALUES"))
    throw Error("not a read-only query (a check may only SELECT)");
  if (!each_row(raw, row)) throw Error(sqlite3_errmsg(db_));
}

void Store::query(const std::string& sql, const std::vector<std::string>& args,
                  const std::function<void(const std::vector<std::string>&,
                                           const std::vector<std::string>&)>& row) {
  Stmt s(prepare(sql));
  for (size_t i = 0; i < args.size(); ++i) bind(s.get(), static_cast<int>(i + 1), args[i]);
  if (!each_row(s.get(), row)) throw Error(fmt::format("{}: {}", path_, sqlite3_errmsg(db_)));
}

}  // namespace wb
