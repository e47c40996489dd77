#pragma once
// Prepared statements of the store: owned handles, values bound by position, text
// columns read back. Internal to the store room.
#include <cstdint>
#include <memory>
#include <string>

#include <fmt/format.h>
#include <sqlite3.h>

#include <workbench/error.hpp>

namespace wb::sqlite {

struct StmtDeleter {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Stmt = std::unique_ptr<sqlite3_stmt, StmtDeleter>;

inline void bind(sqlite3_stmt* s, int i, const std::string& v) {
  sqlite3_bind_text(s, i, v.c_str(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
}
inline void bind(sqlite3_stmt* s, int i, int64_t v) {
  sqlite3_bind_int64(s, i, v);
}
inline void bind(sqlite3_stmt* s, int i, double v) {
  sqlite3_bind_double(s, i, v);
}
inline void bind(sqlite3_stmt* s, int i, bool v) {
  sqlite3_bind_int(s, i, v ? 1 : 0);
}
inline void bind(sqlite3_stmt* s, int i, int v) {
  sqlite3_bind_int64(s, i, v);
}
inline void bind(sqlite3_stmt* s, int i, const char* v) {
  bind(s, i, std::string(v));
}

template <class... A>
void bind_all(sqlite3_stmt* s, const A&... args) {
  int i = 0;
  (bind(s, ++i, args), ...);
}

inline std::string column_text(sqlite3_stmt* s, int i) {
  auto p = sqlite3_column_text(s, i);
  return p ? reinterpret_cast<const char*>(p) : "";
}

// Runs a statement that returns no rows, `args` bound in order; the store's path names
// a failure.
template <class... A>
void run_stmt(sqlite3* db, sqlite3_stmt* raw, const std::string& path, const A&... args) {
  Stmt s(raw);
  bind_all(s.get(), args...);
  if (sqlite3_step(s.get()) != SQLITE_DONE)
    throw Error(fmt::format("{}: {}", path, sqlite3_errmsg(db)));
}

}  // namespace wb::sqlite
