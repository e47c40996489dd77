#!/usr/bin/env bash
# Whether two result stores (each with its artifacts/ folder beside it) hold the same
# numbers: every result row, every metric but the timings, and the bytes of the tokens,
# palette, pretrained weights and features. For a change meant to keep behaviour (a
# refactor): run the quickstart before and after into two stores, then compare.
#   bash tools/compare_runs.sh BEFORE/results.db AFTER/results.db
# last.pt is left out: LibTorch keys Adam's saved state by parameter addresses, so two
# runs of one build differ there too (its tensors are equal).
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 BEFORE.db AFTER.db" >&2; exit 2; }
status=0
numbers() {
  sqlite3 "$1" "SELECT evaluator, metric, layer, split, value FROM results ORDER BY 1, 2, 3, 4;
    SELECT name, step, value FROM metrics WHERE name NOT LIKE '%tokens_per_s'
      AND name NOT LIKE '%seconds%' ORDER BY name, step;"
}
artifacts() {  # checksums, the config-dependent hash folders named by kind only
  (cd "$(dirname "$1")/artifacts" && find . -type f \( -name '*.pt' -o -name '*.tsv' \) \
    ! -name last.pt | sort | xargs sha256sum | sed -E 's|/[0-9a-f]{16}/|/HASH/|')
}
if diff <(numbers "$1") <(numbers "$2") >/dev/null; then
  echo "compare_runs: results and metrics identical ($(numbers "$1" | wc -l) rows)"
else
  echo "compare_runs: results or metrics differ:"; diff <(numbers "$1") <(numbers "$2") | head -20
  status=1
fi
if diff <(artifacts "$1") <(artifacts "$2") >/dev/null; then
  echo "compare_runs: artifacts identical ($(artifacts "$1" | wc -l) files)"
else
  echo "compare_runs: artifacts differ:"; diff <(artifacts "$1") <(artifacts "$2")
  status=1
fi
exit $status
