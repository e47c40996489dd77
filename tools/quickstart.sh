#!/usr/bin/env bash
# The main job on a fresh machine: install dependencies, build what a run needs, run
# the quickstart experiment (Fashion-MNIST, results in results/results.db) and print
# its tables. Each step's time is printed (docs/setup-times.md has them measured).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
step() {  # label, command...
  local t=$SECONDS label=$1
  shift
  "$@"
  echo "quickstart: $label took $((SECONDS - t)) s"
}
step "setup" bash "$root/tools/setup.sh"
# The tests and benchmarks are tools/test.sh's: it builds them into the same folder.
step "build" bash "$root/tools/build.sh" runtime
cd "$root"
step "run" ./build/bin/workbench run experiments/quickstart.toml "$@"
