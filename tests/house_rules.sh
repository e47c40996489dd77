#!/usr/bin/env bash
# The layout rules of docs/architecture.md, checked rather than hoped for:
#   - every file under kernel/ is listed in docs/architecture.md's rooms (by its path
#     inside its room, e.g. `run_assembly.*` or `include/workbench/model.hpp`);
#   - no source file under kernel/ passes 400 lines;
#   - a plugin includes only the SDK (<workbench/...>) and its own or a sibling's files,
#     never the host's ("run/...", "store/...", ...);
#   - the host's rooms include one another without a cycle (tests/room_graph.py);
#   - tests/plugins/ mirrors plugins/ (a test folder is a plugin kind's or a plugin's).
#   bash tests/house_rules.sh [SOURCE_DIR]
set -uo pipefail
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root" || exit 1
doc=docs/architecture.md
fail=0
# The tracked files (a git checkout), or every file (an unpacked source archive).
files() {
  git ls-files "$@" 2>/dev/null || find "$@" -type f
}
while IFS= read -r f; do
  [ "$f" = kernel/CMakeLists.txt ] && continue
  name=$(basename "$f")
  stem=${name%.*}
  # Listed as `name`, `stem.*`, or by its path under kernel/ (the SDK's headers).
  if ! grep -qE "\`(${name}|${stem}\.\*|${f#kernel/})\`|\`${stem}\.\*\`|, \`${name}\`" "$doc" &&
    ! grep -qF "${f#kernel/}" "$doc"; then
    echo "house rules: $f is not listed in $doc"
    fail=1
  fi
done < <(files kernel)
while IFS= read -r f; do
  lines=$(wc -l <"$f")
  if [ "$lines" -gt 400 ]; then
    echo "house rules: $f has $lines lines (at most 400: split it by job)"
    fail=1
  fi
done < <(files kernel | grep -E '\.(cpp|hpp)$')
rooms='experiment|plugins|run|training|distributed|store|platform'
if grep -rnE "#include \"($rooms)/" plugins docs/examples; then
  echo "house rules: a plugin includes the host's internals (above); include <workbench/...> only"
  fail=1
fi
# tests/plugins/ mirrors plugins/: every folder there is a plugin kind or a plugin.
while IFS= read -r d; do
  if [ ! -d "plugins/${d#tests/plugins/}" ]; then
    echo "house rules: $d mirrors no folder of plugins/ (tests/plugins/<kind>s/<name>/)"
    fail=1
  fi
done < <(files tests/plugins | xargs -n1 dirname | sort -u | grep -v '^tests/plugins$')
# The host's rooms include one another without a cycle; the checker itself is tried on
# a made-up pair of rooms that include each other, so that it cannot pass by failing to look.
if ! graph=$(python3 tests/room_graph.py "$root"); then
  echo "$graph"
  fail=1
fi
cycle=$(mktemp -d)
mkdir -p "$cycle/kernel/host/a" "$cycle/kernel/host/b"
echo '#include "b/y.hpp"' >"$cycle/kernel/host/a/x.hpp"
echo '#include "a/x.hpp"' >"$cycle/kernel/host/b/y.hpp"
if python3 tests/room_graph.py "$cycle" >/dev/null; then
  echo "house rules: tests/room_graph.py missed a cycle between two rooms"
  fail=1
fi
rm -rf "$cycle"
[ "$fail" = 0 ] && echo "house rules: $(files kernel | wc -l) files under kernel/ listed, none over 400 lines, plugins include only the SDK, no cycle between the host's rooms, tests/plugins mirrors plugins"
exit "$fail"
