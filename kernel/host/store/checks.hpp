#pragma once
// Tolerance bands on a results store: the nightly reproduction's guard. A checks file
// (TOML) lists named checks, each an SQL query that returns one number and the band
// it must fall in:
//
//   [[check]]
//   name = "pretraining beats the random-init control"
//   sql = "SELECT ..."      # one row, one numeric column
//   min = 8.0               # and/or max; the band, measured across seeds
//   why = "measured 12.5-13.9 over seeds 0-2 (docs/reproduction.md)"
//
// `workbench check FILE` runs them all and fails (exit 1) when a value leaves its
// band or a query finds no value.
#include <optional>
#include <string>
#include <vector>

#include "store/store.hpp"

namespace wb {

struct Check {
  std::string name, sql, why;
  std::optional<double> min, max;
  int line = 0;  // in the checks file, for messages
};

struct CheckResult {
  const Check* check = nullptr;
  std::optional<double> value;  // empty: the query returned no number
  bool passed = false;
};

// Parses a checks file; a malformed file, an unknown key, a check without name, sql or
// band is a wb::Error naming the file and line.
std::vector<Check> load_checks(const std::string& file);

// Runs every check against `store`; an SQL error is a wb::Error naming the check.
std::vector<CheckResult> run_checks(Store& store, const std::vector<Check>& checks);

}  // namespace wb
