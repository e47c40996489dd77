#!/usr/bin/env bash
# The CUDA path, checked on a GPU machine that has PyTorch (with its CUDA libtorch),
# CMake, ninja and a C++ compiler but no Debian package registry:
#   1. unpacks the Debian packages that tools/gpu/pack_deps.sh fetched (.gpu-deps/)
#      into a prefix of their own, never over /;
#   2. builds the workbench against that machine's libtorch (build-gpu/);
#   3. benchmarks a training step of iGPT-S at IR 32 with k = 512 (24 layers, width
#      512, 8 heads, 1024 tokens, bf16 autocast, fused attention) against the same step
#      in Python PyTorch, and prints tokens/s and the fraction of the GPU's measured
#      bf16 matmul peak (model FLOP utilisation); ours eager (cuDNN's attention first),
#      replayed as a CUDA graph, and with LibTorch's attention order; then the
#      quickstart's small model, against eager and torch.compile;
#   4. runs the test suite (experiments default to device = "auto": CUDA there);
#   5. runs the quick start on the GPU when Fashion-MNIST was packed (--data).
# Each stage has a time limit, so one slow stage still leaves the others' figures.
# Logs go to $OUT (or ./gpu-check) as well as to the terminal.
#   here:  bash tools/gpu/pack_deps.sh --data
#   there: bash tools/gpu/check.sh
# WB_GPU_BATCHES (default "32 64") sets the benchmark's batches, empty skips it;
# WB_GPU_TESTS=0 skips the test suite, WB_GPU_QUICKSTART=0 the quick start; a second
# call finds the build done (build-gpu/ and the unpacked prefix are reused).
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
out=${OUT:-$root/gpu-check}
mkdir -p "$out"
exec > >(tee "$out/check.log") 2>&1
deps=${WB_GPU_DEPS:-/tmp/wb-deps}
build=${WB_GPU_BUILD:-$root/build-gpu}
py=${PYTHON:-python3}
jobs=$(nproc)
start=$(date +%s)
stage() { echo; echo "== [$(($(date +%s) - start)) s] $*"; }

stage "machine"
nvidia-smi -L || true
grep PRETTY_NAME /etc/os-release || true
c++ --version | head -1
cmake --version | head -1
ninja --version
export PATH=$PATH:/usr/local/cuda/bin
nvcc --version | tail -1
"$py" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.get_device_name(0))"

stage "unpack $(ls .gpu-deps/*.deb | wc -l) Debian packages into $deps"
mkdir -p "$deps"
unpack() {  # dpkg-deb where there is one, else the archive's data member by hand
  if command -v dpkg-deb >/dev/null; then dpkg-deb -x "$1" "$deps"; else
    (cd "$deps" && ar p "$1" "$(ar t "$1" | grep '^data.tar')" | tar -xJ); fi
}
for f in "$root"/.gpu-deps/*.deb; do unpack "$f" || exit 1; done
# A development link that names an absolute path (libz.so -> /lib/...) must point into
# the prefix: that machine's own copy may have another version or none.
find "$deps" -type l | while read -r link; do
  target=$(readlink "$link")
  if [[ $target == /* ]]; then ln -sf "$deps$target" "$link"; fi
done

stage "configure against this machine's libtorch"
torch_prefix=$("$py" -c "import os, torch, torch.utils; print(torch.utils.cmake_prefix_path + ';' + os.path.dirname(torch.__file__))")
export TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-9.0}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  "-DCMAKE_PREFIX_PATH=$deps/usr;$torch_prefix" -DCMAKE_INSTALL_RPATH_USE_LINK_PATH=ON \
  "-DWB_REFERENCE_PYTHON=$(command -v "$py")" "-DWB_CUDA_ARCHITECTURES=${TORCH_CUDA_ARCH_LIST//./}" \
  >"$out/configure.log" 2>&1 ||
  { tail -40 "$out/configure.log"; exit 1; }
grep -E "Found (Boost|SQLite3|OpenSSL|GTest)|Torch|CUDA" "$out/configure.log" | head -12

stage "build (-j $jobs)"
timeout 420 cmake --build "$build" -j "$jobs" >"$out/build.log" 2>&1 ||
  { grep -E "error|FAILED" "$out/build.log" | head -30; tail -5 "$out/build.log"; exit 1; }
tail -1 "$out/build.log"

stage "training step, iGPT-S at IR 32, k = 512: workbench vs Python PyTorch, same GPU"
rate() { sed -E 's/.* ([0-9.]+) tokens\/s.*/\1/' <<<"$(tail -1 <<<"$1")"; }
ratio() { "$py" -c "print(f'{$1 / $2:.2f}x')" 2>/dev/null || echo "?"; }
# Each variant of ours against the same Python run: eager with cuDNN's attention asked
# for first (model.attention = auto), the same replayed as one CUDA graph
# (training.cuda_graph), and LibTorch's own attention order (flash first).
compare() {  # compare LABEL PYTHON_FLAGS -- SHAPE...
  local label=$1 pyflags=$2; shift 3
  local theirs ours
  theirs=$(timeout 150 "$py" bench/train_step_torch.py "$@" $pyflags 2>&1)
  echo "$theirs" | tail -2
  for variant in "" "--cuda-graph" "--attention libtorch"; do
    ours=$(timeout 120 "$build/bin/train_bench" "$@" $variant 2>&1)
    echo "$ours" | grep -E "^(workbench|peak|model FLOP|cuda graph|memory|error)"
    echo "$label, ours ${variant:-(eager, cuDNN first)} / Python${pyflags:+ $pyflags}:" \
      "$(ratio "$(rate "$ours")" "$(rate "$theirs")")"
  done
}
for batch in ${WB_GPU_BATCHES-32 64}; do  # WB_GPU_BATCHES= skips the benchmark
  compare "iGPT-S batch $batch" "" -- --layers 24 --width 512 --heads 8 --tokens 1024 \
    --vocab 512 --batch "$batch" --steps 10 --device cuda --precision bfloat16
done
# Where the step's GPU time goes, kernel by kernel (the Python step's: the same
# kernels as ours but the quick GELU and the attention's choice).
if [ -n "${WB_GPU_BATCHES-32 64}" ]; then
  timeout 150 "$py" bench/train_step_torch.py --layers 24 --width 512 --heads 8 --tokens 1024 \
    --vocab 512 --batch 32 --steps 3 --device cuda --precision bfloat16 --profile 2>&1 | tail -28
fi
# The quickstart's model: hundreds of small kernels a step, where launches dominate and
# a graph should gain most; against eager and torch.compile.
if [ -n "${WB_GPU_BATCHES-32 64}" ]; then
  for flags in "" "--compile"; do
    compare "quickstart shape" "$flags" -- --layers 4 --width 64 --heads 4 --tokens 196 \
      --vocab 16 --batch 32 --steps 30 --device cuda --precision bfloat16
  done
fi

if [ "${WB_GPU_TESTS:-1}" != 0 ]; then
stage "test suite (ctest -j 8)"
# The tests' scratch folders go in the build tree, a place known to be writable.
echo "TMPDIR was ${TMPDIR:-unset}"
export TMPDIR=$build/tmp
mkdir -p "$TMPDIR"
# Fashion-MNIST from the packed Debian package, for the test that runs the quick start.
export WB_FASHION_MNIST=$deps/usr/share/datasets/fashion-mnist
(cd "$build" && timeout 200 ctest -j 8 --timeout 200 --output-on-failure >"$out/ctest.log" 2>&1)
grep -E "tests passed|tests failed|Failed|\*\*\*" "$out/ctest.log" | head -30
# A crashing test: its backtrace, from cuda-gdb (it debugs host code too; gdb may be absent).
crashed=$(grep -m1 -oE "Test +#[0-9]+: [A-Za-z_./()0-9, ]+ \.+\*\*\*Exception: SegFault" "$out/ctest.log" |
  sed -E 's/Test +#[0-9]+: ([^ ]+) .*/\1/')
if [ -n "$crashed" ] && command -v cuda-gdb >/dev/null; then
  stage "backtrace of $crashed"
  timeout 90 cuda-gdb -batch -ex run -ex bt --args "$build/tests/workbench_tests" \
    --gtest_filter="$crashed" 2>&1 | grep -vE "^\[(New|Thread)" | tail -40
fi
fi

data=$deps/usr/share/datasets/fashion-mnist
if [ -d "$data" ] && [ "${WB_GPU_QUICKSTART:-1}" != 0 ]; then
  stage "quick start on the GPU"
  rm -rf "$build/gpu-results"
  timeout 120 "$build/bin/workbench" run experiments/quickstart.toml --db "$build/gpu-results/results.db" \
    --set dataset.path="$data" --set experiment.device=cuda 2>&1 | tail -25
  cp "$build/gpu-results/results.db" "$out/quickstart-gpu.db" 2>/dev/null || true
fi
stage "done"
