#!/usr/bin/env bash
# docs/writing-a-plugin.md as a test: install the workbench, build the example
# objective (docs/examples/denoise) and evaluator (docs/examples/centroid), and the
# bundled kNN evaluator's sources (renamed knn_oot), out of tree against the installed
# SDK, run an experiment with all three, and check what a plugin author relies on:
#  - the guide's listings are the files built here;
#  - the objective's own metric (denoise_accuracy) and the evaluator's results land in
#    the store, and `workbench report` shows both; the evaluator reads the features the
#    linear probe extracted (the run's feature service: one pass);
#  - the build tree's workbench reuses what the installed one made (a plugin's identity
#    is its code, not the run path that `cmake --install` rewrites);
#  - rebuilt from the same code, the next run reuses the finished run;
#  - rebuilt with changed code, the next run trains and evaluates again;
#  - a build against another plugin ABI is refused, and `plugins --describe` says why.
# usage: out_of_tree_plugin.sh SOURCE_DIR BUILD_DIR WORK_DIR [PREFIX_PATH]
# PREFIX_PATH: the build's own CMAKE_PREFIX_PATH (where its LibTorch is), so the plugin
# builds against the same LibTorch as the SDK. WB_FASHION_MNIST: where Fashion-MNIST is
# on a machine without the Debian package (tools/gpu/check.sh sets it).
set -euo pipefail
src=$1 build=$2 work=$3 prefixes=${4:-}
rm -rf "$work" && mkdir -p "$work"

# The guide shows each example's source whole: the listing after "`NAME.cpp`, whole:"
# must be the file this test builds.
for name in denoise centroid; do
  python3 - "$src/docs/writing-a-plugin.md" "$src/docs/examples/$name/$name.cpp" "$name" <<'PY'
import sys
guide, path, name = open(sys.argv[1]).read(), open(sys.argv[2]).read(), sys.argv[3]
at = guide.find("`%s.cpp`, whole:" % name)
if at < 0:
    sys.exit("FAIL: docs/writing-a-plugin.md has no listing of %s.cpp" % name)
start = guide.index("```cpp\n", at) + len("```cpp\n")
if guide[start:guide.index("```\n", start)] != path:
    sys.exit("FAIL: the listing of %s.cpp in docs/writing-a-plugin.md differs from %s" % (name, sys.argv[2]))
PY
done

cmake --install "$build" --prefix "$work/prefix" > "$work/install.log"
cp -r "$src/docs/examples/denoise" "$work/denoise"
cp -r "$src/docs/examples/centroid" "$work/centroid"
configure() {  # configure FOLDER [extra cmake args]
  local dir=$1
  shift
  cmake -S "$work/${EXAMPLE:-denoise}" -B "$dir" -G Ninja \
    -DCMAKE_PREFIX_PATH="$work/prefix;$prefixes" -DCMAKE_BUILD_TYPE=Release "$@" \
    > "$work/configure.log"
}
configure "$work/plugin"
cmake --build "$work/plugin" > "$work/build.log"
EXAMPLE=centroid configure "$work/evaluator"
cmake --build "$work/evaluator" > "$work/build.log"
# The bundled kNN evaluator's own sources (its folder and evaluators/common, which use
# the SDK alone) build against the installed SDK as well: renamed knn_oot, so that it
# loads beside the installed knn.
mkdir -p "$work/knn_src"
cp "$src"/plugins/evaluators/knn/*.cpp "$src"/plugins/evaluators/common/*.cpp \
  "$src"/plugins/evaluators/common/*.hpp "$work/knn_src/"
sed -i 's/WB_PLUGIN(Evaluator, "knn"/WB_PLUGIN(Evaluator, "knn_oot"/' "$work/knn_src/knn.cpp"
grep -q '"knn_oot"' "$work/knn_src/knn.cpp" || { echo "FAIL: cannot rename the kNN copy"; exit 1; }
cat > "$work/knn_src/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.18)
project(knn_oot LANGUAGES CXX)
find_package(workbench REQUIRED)
file(GLOB sources ${CMAKE_CURRENT_SOURCE_DIR}/*.cpp)
wb_add_plugin(knn_oot ${sources})
CMAKE
EXAMPLE=knn_src configure "$work/knn"
cmake --build "$work/knn" > "$work/build.log"

export WORKBENCH_PLUGIN_PATH="$work/plugin:$work/evaluator:$work/knn"
wb="$work/prefix/bin/workbench"
"$wb" plugins --describe denoise | tee "$work/describe.txt"
grep -q "replace_prob" "$work/describe.txt"

# The quickstart, shrunk to seconds, with the new objective.
run() {  # run LOG [WORKBENCH]
  "${2:-$wb}" run "$src/experiments/quickstart.toml" --db "$work/results.db" \
    --set dataset.path="${WB_FASHION_MNIST:-/usr/share/datasets/fashion-mnist}" \
    --set objective.plugin=denoise \
    --set dataset.resolution=7 --set dataset.max_train=300 --set dataset.max_eval=100 \
    --set model.size=tiny --set training.steps=10 --set training.val_every=5 \
    --set training.log_every=5 --set evaluators.0.max_iter=20 --set evaluators.0.l2_steps=1 \
    --set evaluators.1.plugin=centroid --set evaluators.2.plugin=knn_oot 2>&1 | tee "$1"
}
sql() { python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])' "$work/results.db" "$1"; }
run "$work/run1.log"
"$wb" results --db "$work/results.db" | tee "$work/runs.txt"
grep -q "finished" "$work/runs.txt"
for name in train/denoise_accuracy train/val_denoise_accuracy train/final_val_denoise_accuracy; do
  n=$(sql "SELECT COUNT(*) FROM metrics WHERE name = '$name'")
  [ "$n" -gt 0 ] || { echo "FAIL: the plugin's metric $name is not in the store"; exit 1; }
done

# The evaluator's results are in the store, from the linear probe's features.
[ "$(sql "SELECT COUNT(*) FROM results WHERE evaluator = 'centroid' AND metric = 'accuracy'")" -gt 0 ] ||
  { echo "FAIL: the out-of-tree evaluator's results are not in the store"; exit 1; }
[ "$(sql "SELECT COUNT(*) FROM results WHERE evaluator = 'knn_oot' AND metric = 'accuracy'")" -gt 0 ] ||
  { echo "FAIL: the kNN built out of tree left no results"; exit 1; }
[ "$(grep -c "features: extracting" "$work/run1.log")" = 1 ] ||
  { echo "FAIL: want one feature pass for the linear probe and the out-of-tree evaluators"; exit 1; }
"$wb" plugins --describe centroid > /dev/null
"$wb" plugins --describe knn_oot > /dev/null

# The report draws from the store alone: the plugin's metric, and the results of an
# evaluator no bundled code knows.
"$wb" report quickstart --db "$work/results.db" --out "$work/report" > "$work/report.log"
grep -q "train/denoise_accuracy" "$work/report/report.md" ||
  { echo "FAIL: the report does not show the plugin's metric"; exit 1; }
[ -f "$work/report/metric_train_denoise_accuracy.png" ] ||
  { echo "FAIL: no curve of the plugin's metric"; exit 1; }
grep -q "| centroid | accuracy | 2 | test |" "$work/report/report.md" ||
  { echo "FAIL: the report does not show the out-of-tree evaluator's results"; exit 1; }
[ -f "$work/report/evaluator_centroid_accuracy.png" ] ||
  { echo "FAIL: no by-layer figure of the out-of-tree evaluator"; exit 1; }

# The build tree's binary and plugins (other run paths, same code): the run is reused.
run "$work/run_build_tree.log" "$build/bin/workbench"
grep -q "already finished" "$work/run_build_tree.log" ||
  { echo "FAIL: the build tree's workbench did not reuse the installed one's run"; exit 1; }

# Rebuilt from the same code: the finished run is reused.
touch "$work/denoise/denoise.cpp"
cmake --build "$work/plugin" > "$work/build.log"
run "$work/run2.log"
grep -q "already finished" "$work/run2.log" || { echo "FAIL: identical code did not reuse the run"; exit 1; }

# Rebuilt with changed code (the loss doubled): trained and evaluated again (the tokens,
# made by unchanged plugins, are still reused).
sed -i "s/return {nats,/return {2 * nats,/" "$work/denoise/denoise.cpp"
grep -q "return {2 \* nats" "$work/denoise/denoise.cpp"
cmake --build "$work/plugin" > "$work/build.log"
run "$work/run3.log"
if grep -E -q "already finished|reusing checkpoint|features: reusing" "$work/run3.log"; then
  echo "FAIL: a plugin with changed code reused what its old code made"
  exit 1
fi
[ "$(sql "SELECT COUNT(*) FROM runs WHERE status = 'finished'")" = 2 ] ||
  { echo "FAIL: want 2 finished runs"; exit 1; }

# Built against another plugin ABI: refused, and describe says why.
configure "$work/old_abi" -DCMAKE_CXX_FLAGS=-DWB_PLUGIN_ABI_VERSION=4
cmake --build "$work/old_abi" > "$work/build.log"
if WORKBENCH_PLUGIN_PATH="$work/old_abi" "$wb" plugins --describe denoise > "$work/refused.txt" 2>&1; then
  echo "FAIL: a plugin of another ABI was described"
  exit 1
fi
cat "$work/refused.txt"
grep -q "ABI 4" "$work/refused.txt"
echo "out-of-tree plugins: built, loaded, run, their metric and results stored and reported, cache keyed by their code, refusal explained"
