#!/usr/bin/env bash
# The main job on a fresh machine: install dependencies, build, run the quickstart
# experiment (Fashion-MNIST, results in results/results.db) and print its tables.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/tools/setup.sh"
bash "$root/tools/build.sh" runtime  # the tests and benchmarks are tools/test.sh's
cd "$root"
./build/bin/workbench run experiments/quickstart.toml "$@"
