#!/usr/bin/env bash
# Configures and builds the workbench (Ninja, Release, ccache when present). Re-running
# rebuilds only what changed. BUILD_DIR (TORCH2_BUILD_DIR) and CMAKE_ARGS may be set.
#   bash tools/build.sh                # against Debian's libtorch 1.13 (CPU), in build/
#   TORCH=pypi bash tools/build.sh     # against PyPI's libtorch 2.x (CUDA-enabled), in build-torch2/
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
jobs=${JOBS:-$(nproc)}
extra=()
if [ "${TORCH:-debian}" = pypi ]; then
  build=${TORCH2_BUILD_DIR:-$root/build-torch2}
  prefix=$(bash "$root/tools/setup_torch2.sh" | tail -1)
  extra+=("-DCMAKE_PREFIX_PATH=$prefix")
else
  build=${BUILD_DIR:-$root/build}
fi
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release "${extra[@]}" ${CMAKE_ARGS:-}
fi
cmake --build "$build" -j "$jobs"
