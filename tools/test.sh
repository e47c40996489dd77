#!/usr/bin/env bash
# Install dependencies, build, and run the whole test suite (GoogleTest via ctest)
# against Debian's libtorch 1.13 (build/). WB_TORCH2=1 runs it a second time against
# the CUDA-enabled libtorch 2.x of PyPI's wheel (build-torch2/; its tests run on the
# CPU): about 10 more minutes on 2 cores, most of it the wheel's install, so CI
# (.ci/run) leaves it to the nightly workflow. Each step's time is printed at its end.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
step() {  # label, command...
  local t=$SECONDS label=$1
  shift
  "$@"
  echo "test: $label took $((SECONDS - t)) s"
}
step "setup" bash "$root/tools/setup.sh"
step "build (Debian libtorch)" bash "$root/tools/build.sh"
step "suite (Debian libtorch)" bash -c "cd '${BUILD_DIR:-$root/build}' && ctest --output-on-failure -j $(nproc)"
if [ "${WB_TORCH2:-0}" != 0 ]; then
  echo "test: the same suite against PyPI's libtorch 2.x"
  step "build (PyPI libtorch, with its venv)" env TORCH=pypi bash "$root/tools/build.sh"
  step "suite (PyPI libtorch)" bash -c "cd '${TORCH2_BUILD_DIR:-$root/build-torch2}' && ctest --output-on-failure -j $(nproc)"
fi
