#!/usr/bin/env bash
# Configures and builds the workbench (Ninja, Release) against the one engine: the
# LibTorch 2.x of PyTorch's PyPI wheel in the virtual environment of tools/torch_env.sh
# (tools/setup.sh installs it). Re-running rebuilds only what changed.
# BUILD_DIR (default build/) and CMAKE_ARGS may be set. Targets may be named:
#   bash tools/build.sh            # everything: host, CLI, plugins, tests, benchmarks
#   bash tools/build.sh runtime    # what `workbench run` needs (tools/quickstart.sh)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/tools/torch_env.sh"
build=${BUILD_DIR:-$root/build}
jobs=${JOBS:-$(nproc)}
py=$WB_TORCH_VENV/bin/python
if ! "$py" -c "import torch" 2>/dev/null; then
  echo "build: no torch in $WB_TORCH_VENV; run bash tools/setup.sh first" >&2
  exit 1
fi
# CMake finds LibTorch through torch.utils.cmake_prefix_path; the folder of the torch
# package after it, so find_library sees its libraries before any system copy.
prefix=$("$py" -c "import os, torch, torch.utils; print(torch.utils.cmake_prefix_path + ';' + os.path.dirname(torch.__file__))")
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release "-DCMAKE_PREFIX_PATH=$prefix" \
    ${CMAKE_ARGS:-}
fi
targets=()
for t in "$@"; do targets+=(--target "$t"); done
cmake --build "$build" -j "$jobs" "${targets[@]}"
