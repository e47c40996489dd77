#!/usr/bin/env bash
# docs/writing-a-plugin.md as a test: install the workbench, build the example
# objective out of tree against the installed SDK, and run an experiment with it.
# usage: out_of_tree_plugin.sh SOURCE_DIR BUILD_DIR WORK_DIR [PREFIX_PATH]
# PREFIX_PATH: the build's own CMAKE_PREFIX_PATH (where its LibTorch is), so the plugin
# builds against the same LibTorch as the SDK. WB_FASHION_MNIST: where Fashion-MNIST is
# on a machine without the Debian package (tools/gpu/check.sh sets it).
set -euo pipefail
src=$1 build=$2 work=$3 prefixes=${4:-}
rm -rf "$work" && mkdir -p "$work"

cmake --install "$build" --prefix "$work/prefix" > "$work/install.log"
cmake -S "$src/docs/examples/reverse_ar" -B "$work/plugin" -G Ninja \
  -DCMAKE_PREFIX_PATH="$work/prefix;$prefixes" -DCMAKE_BUILD_TYPE=Release > "$work/configure.log"
cmake --build "$work/plugin" > "$work/build.log"

export WORKBENCH_PLUGIN_PATH="$work/plugin"
wb="$work/prefix/bin/workbench"
"$wb" plugins --describe reverse_ar | tee "$work/describe.txt"
grep -q "label_smoothing" "$work/describe.txt"

# The quickstart, shrunk to seconds, with the new objective.
"$wb" run "$src/experiments/quickstart.toml" --db "$work/results.db" \
  --set dataset.path="${WB_FASHION_MNIST:-/usr/share/datasets/fashion-mnist}" \
  --set objective.plugin=reverse_ar --set objective.label_smoothing=0.1 \
  --set dataset.resolution=7 --set dataset.max_train=300 --set dataset.max_eval=100 \
  --set model.size=tiny --set training.steps=10 --set training.val_every=5 \
  --set evaluators.0.max_iter=20 --set evaluators.0.l2_steps=1
"$wb" results --db "$work/results.db" | tee "$work/runs.txt"
grep -q "finished" "$work/runs.txt"
echo "out-of-tree plugin: built, loaded and run"
