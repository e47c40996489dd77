#!/usr/bin/env bash
# Configures and builds the workbench into build/ (Ninja, Release, ccache when present).
# Re-running rebuilds only what changed. BUILD_DIR and CMAKE_ARGS may be set.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
jobs=${JOBS:-$(nproc)}
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release ${CMAKE_ARGS:-}
fi
cmake --build "$build" -j "$jobs"
