#!/usr/bin/env bash
# Fuzzes what reads untrusted bytes (tools/fuzz/: the IDX, CIFAR, STL-10 and image
# readers, the experiment-file parser with --set, the released-weights readers): builds the libFuzzer targets with clang, with
# AddressSanitizer and UndefinedBehaviorSanitizer, and runs each from the committed
# seeds (tools/fuzz/seeds/) for RUNS executions (default 10^6). Prints executions,
# seconds and crashes per target; a crash leaves its input in
# build-fuzz/findings/TARGET/ and makes the script fail. JOBS=n runs n targets at once. Not part of CI (minutes per target); run after touching a reader.
# usage: bash tools/fuzz.sh [TARGET...]   (idx, cifar, stl10, image, experiment, weights; default all)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/tools/torch_env.sh"
py=$WB_TORCH_VENV/bin/python
build=${FUZZ_BUILD_DIR:-$root/build-fuzz}
runs=${RUNS:-1000000}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(idx cifar stl10 image experiment weights)
command -v clang++ > /dev/null || { echo "fuzz: needs clang (apt install clang)" >&2; exit 1; }
prefix=$("$py" -c "import os, torch, torch.utils; print(torch.utils.cmake_prefix_path + ';' + os.path.dirname(torch.__file__))")
mkdir -p "$build"
if [ ! -f "$build/CMakeCache.txt" ]; then
  CC=clang CXX=clang++ cmake -S "$root/tools/fuzz" -B "$build" -G Ninja \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_PREFIX_PATH=$prefix" > "$build/configure.log"
fi
cmake --build "$build" > "$build/build.log"
# LibTorch's own allocations at exit are not the readers' leaks.
export ASAN_OPTIONS=detect_leaks=0
# One target: its executions, seconds and crashes into $build/$t.result.
fuzz_one() {
  local t=$1 corpus=$build/corpus/$1 start rc=0
  mkdir -p "$corpus" "$build/findings/$t"
  start=$(date +%s)
  (cd "$build/findings/$t" && "$build/fuzz_$t" -runs="$runs" -max_len=8192 -timeout=10 \
    "$corpus" "$root/tools/fuzz/seeds/$t" > "$build/$t.log" 2>&1) || rc=$?
  local runs_done crashes
  runs_done=$(grep -oE "Done [0-9]+ runs" "$build/$t.log" | grep -oE "[0-9]+" || echo 0)
  crashes=$(find "$build/findings/$t" -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' |
    wc -l)
  printf "%-12s %12s %10s %8s %5s\n" "$t" "$runs_done" "$(( $(date +%s) - start ))" \
    "$crashes" "$rc" > "$build/$t.result"
}
# JOBS targets at a time (default 1; each uses one core).
jobs_at_once=${JOBS:-1}
for t in "${targets[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs_at_once" ]; do wait -n || true; done
  fuzz_one "$t" &
done
wait
failed=0
printf "%-12s %12s %10s %8s %5s\n" target executions seconds crashes exit
for t in "${targets[@]}"; do
  cat "$build/$t.result"
  read -r _ _ _ crashes rc < "$build/$t.result"
  if [ "$crashes" != 0 ] || [ "$rc" != 0 ]; then
    failed=1
    echo "fuzz: $t found a problem; see $build/$t.log and $build/findings/$t/" >&2
  fi
done
exit $failed
