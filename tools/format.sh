#!/usr/bin/env bash
# Formats every C++ source with the committed .clang-format; --check only reports
# (non-zero exit when a file differs), as the test suite does.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
mapfile -t files < <(git ls-files --cached --others --exclude-standard '*.cpp' '*.hpp' '*.cu' 2>/dev/null || find kernel plugins tests docs \( -name '*.[ch]pp' -o -name '*.cu' \))
if [ "${1:-}" = "--check" ]; then
  clang-format --dry-run -Werror "${files[@]}"
  echo "clang-format: ${#files[@]} files conform"
else
  clang-format -i "${files[@]}"
fi
