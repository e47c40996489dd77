#include "distributed/shard.hpp"

#include <algorithm>
#include <regex>

#include <fmt/format.h>
#include <workbench/error.hpp>

namespace wb {

Shard parse_shard(const std::string& text) {
  static const std::regex form(R"(\s*(\d{1,9})\s*/\s*(\d{1,9})\s*)");
  std::smatch m;
  Shard s;
  if (std::regex_match(text, m, form)) {
    s.index = std::stoll(m[1]);
    s.count = std::stoll(m[2]);
    if (s.count >= 1 && s.index < s.count) return s;
  }
  throw Error(fmt::format(
      "--shard {}: expected i/n with 0 <= i < n (e.g. --shard 0/2 and --shard 1/2 on two "
      "machines)",
      text));
}

bool in_shard(const std::string& pretrain_hash, const Shard& shard) {
  // The hash's first 15 hex digits: 60 bits, no overflow, the same everywhere.
  const uint64_t h = std::stoull(pretrain_hash.substr(0, 15), nullptr, 16);
  return static_cast<int64_t>(h % static_cast<uint64_t>(shard.count)) == shard.index;
}

Experiment select_shard(Experiment exp, const Shard& shard) {
  exp.runs.erase(
      std::remove_if(exp.runs.begin(), exp.runs.end(),
                     [&](const RunConfig& r) { return !in_shard(r.pretrain_hash, shard); }),
      exp.runs.end());
  return exp;
}

}  // namespace wb
