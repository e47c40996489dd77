#!/usr/bin/env bash
# Install dependencies (tools/setup.sh --tests: Debian's packages, the LibTorch 2.x
# engine and the tests' Python references), build (tools/build.sh, into build/: what
# tools/quickstart.sh built is kept, the tests and benchmarks are added), and run the
# whole test suite (GoogleTest via
# ctest; the golden test against transformers included). Each step's time is printed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
step() {  # label, command...
  local t=$SECONDS label=$1
  shift
  "$@"
  echo "test: $label took $((SECONDS - t)) s"
}
step "setup" bash "$root/tools/setup.sh" --tests
step "build" bash "$root/tools/build.sh"
step "suite" bash -c "cd '${BUILD_DIR:-$root/build}' && ctest --output-on-failure -j $(nproc)"
