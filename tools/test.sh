#!/usr/bin/env bash
# Install dependencies, build, and run the whole test suite (GoogleTest via ctest),
# twice: against Debian's libtorch 1.13 (build/) and against the CUDA-enabled libtorch
# 2.x of PyTorch's PyPI wheel (build-torch2/; its tests run on the CPU). WB_TORCH2=0
# runs the first only.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/tools/setup.sh"
bash "$root/tools/build.sh"
(cd "${BUILD_DIR:-$root/build}" && ctest --output-on-failure -j "$(nproc)")
if [ "${WB_TORCH2:-1}" != 0 ]; then
  echo "test: the same suite against PyPI's libtorch 2.x"
  TORCH=pypi bash "$root/tools/build.sh"
  (cd "${TORCH2_BUILD_DIR:-$root/build-torch2}" && ctest --output-on-failure -j "$(nproc)")
fi
